/**
 * Dataset handling after import: splits kept when the source gives them and drawn with a seed
 * when it does not; exact duplicates removed; leakage between splits found (the same input in
 * train and test inflates scores; Elangovan et al., EACL 2021); a class-balance report; and
 * seeded k-shot draws for few-shot adaptation (the paper's k in {1, 5, 10, 20}, 10 draws each).
 */
import { createHash } from 'node:crypto';

import { seededRandom, shuffled } from '../common/random.js';
import { SPLITS, type Example, type Split, type TaskType } from '../tasks/types.js';
import type { RawExample } from './source.js';

export interface SplitRatios {
  readonly train: number;
  readonly dev: number;
  readonly test: number;
}

export const DEFAULT_RATIOS: SplitRatios = { train: 0.8, dev: 0.1, test: 0.1 };

/**
 * Examples without a split are shuffled with the seed and shared among the splits the source did
 * not provide (a source with only a test split gets train and dev drawn from the rest). Examples
 * of one group (a document, a `--group-by` value), or else with the same input, are drawn
 * together, so drawing splits never creates leakage.
 */
export function assignSplits(
  examples: readonly RawExample[],
  seed: number,
  ratios: SplitRatios = DEFAULT_RATIOS,
): Example[] {
  const given = new Set(examples.flatMap((e) => (e.split ? [e.split] : [])));
  const groups = new Map<string, number[]>(); // group (or input fingerprint) -> indices of unsplit examples
  examples.forEach((e, i) => {
    if (e.split) return;
    const key = e.group !== undefined ? `group:${e.group}` : fingerprint(e.input);
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  });
  const targets = SPLITS.filter((s) => !given.has(s) && ratios[s] > 0);
  const pool = targets.length > 0 ? targets : (['train'] as Split[]);
  const total = pool.reduce((sum, s) => sum + ratios[s], 0) || 1;
  const unsplit = [...groups.values()].reduce((sum, g) => sum + g.length, 0);
  const assigned = new Map<number, Split>();
  let k = 0;
  let quota = Math.round((unsplit * ratios[pool[0] as Split]) / total);
  let filled = 0;
  for (const group of shuffled([...groups.values()], seededRandom(seed))) {
    while (k < pool.length - 1 && filled >= quota) {
      k++;
      quota += Math.round((unsplit * ratios[pool[k] as Split]) / total);
    }
    for (const i of group) assigned.set(i, pool[k] as Split);
    filled += group.length;
  }
  return examples.map((e, i) => ({ ...e, split: e.split ?? (assigned.get(i) as Split) }));
}

/**
 * For sources with train but no dev split (DDI has Train/ and Test/ only): moves a seeded
 * `fraction` of train to dev, identical inputs together, so a run can select its checkpoint
 * without touching test.
 */
export function drawDevFromTrain(examples: readonly Example[], fraction: number, seed: number): Example[] {
  if (fraction <= 0 || examples.some((e) => e.split === 'dev')) return [...examples];
  const train = examples.map((e, i) => (e.split === 'train' ? i : -1)).filter((i) => i >= 0);
  const redrawn = assignSplits(
    train.map((i): RawExample => {
      const { split: _split, ...rest } = examples[i] as Example;
      return rest;
    }),
    seed,
    { train: 1 - fraction, dev: fraction, test: 0 },
  );
  const moved = new Map(train.map((i, k) => [i, redrawn[k]?.split ?? 'train']));
  return examples.map((e, i) => ({ ...e, split: moved.get(i) ?? e.split }));
}

/** The exact value as JSON, hashed: what de-duplication compares (case and spaces count). */
export function exactFingerprint(value: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(value) ?? 'null')
    .digest('hex');
}

/** Whitespace- and case-insensitive fingerprint of a value (an input, or input and target). */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(normalised(value)).digest('hex');
}

/** A value as JSON with every string's whitespace collapsed and case folded. */
export function normalised(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    typeof v === 'string' ? v.replace(/\s+/g, ' ').trim().toLowerCase() : v,
  );
}

export interface DeduplicationResult {
  readonly examples: Example[];
  /** Copies removed: exactly the same input and target again in the same split. */
  readonly removed: number;
  /** Examples whose exact input came earlier in the same split with another target (all kept, once each). */
  readonly conflicting: number;
  /** Up to 10 external ids of such examples, to look them up. */
  readonly conflicts: readonly string[];
}

/** Exact de-duplication: case-sensitive, every (input, target) pair kept once, conflicts reported. */
export function deduplicate(examples: readonly Example[]): DeduplicationResult {
  const pairs = new Set<string>(); // split + input + target
  const inputs = new Set<string>(); // split + input
  const kept: Example[] = [];
  const conflicts: string[] = [];
  let removed = 0;
  let conflicting = 0;
  examples.forEach((e, i) => {
    const input = `${e.split}:${exactFingerprint(e.input)}`;
    const pair = `${input}:${exactFingerprint(e.target)}`;
    if (pairs.has(pair)) {
      removed++;
      return;
    }
    pairs.add(pair);
    if (inputs.has(input)) {
      conflicting++;
      if (conflicts.length < MAX_LISTED) conflicts.push(e.externalId ?? `#${i + 1}`);
    }
    inputs.add(input);
    kept.push(e);
  });
  return { examples: kept, removed, conflicting, conflicts };
}

/** How many example ids a report lists. */
export const MAX_LISTED = 10;

export interface LeakageReport {
  /** Inputs found in both splits of each pair. */
  readonly trainDev: number;
  readonly trainTest: number;
  readonly devTest: number;
  /** Up to 10 external ids of leaked evaluation examples, to look them up. */
  readonly examples: readonly string[];
}

export function leakageCheck(examples: readonly Example[]): LeakageReport {
  const bySplit: Record<Split, Set<string>> = { train: new Set(), dev: new Set(), test: new Set() };
  const prints = examples.map((e) => fingerprint(e.input));
  examples.forEach((e, i) => bySplit[e.split].add(prints[i] as string));
  const overlap = (a: Set<string>, b: Set<string>) => [...a].filter((x) => b.has(x)).length;
  const leaked = examples
    .filter((e, i) => e.split !== 'train' && bySplit.train.has(prints[i] as string))
    .map((e, i) => e.externalId ?? `#${i + 1}`)
    .slice(0, 10);
  return {
    trainDev: overlap(bySplit.train, bySplit.dev),
    trainTest: overlap(bySplit.train, bySplit.test),
    devTest: overlap(bySplit.dev, bySplit.test),
    examples: leaked,
  };
}

export interface BalanceReport {
  /** Label occurrences per split. */
  readonly counts: Record<Split, Record<string, number>>;
  /** Most frequent over least frequent label in train (Infinity when a label is missing there). */
  readonly imbalanceRatio: number;
  /** Labels of the label set that a split lacks entirely. */
  readonly missing: Record<Split, string[]>;
}

export function balanceReport(examples: readonly Example[], labelSet: readonly string[]): BalanceReport {
  const counts: Record<Split, Record<string, number>> = { train: {}, dev: {}, test: {} };
  for (const e of examples) for (const l of e.labels) counts[e.split][l] = (counts[e.split][l] ?? 0) + 1;
  const train = labelSet.map((l) => counts.train[l] ?? 0);
  const max = Math.max(0, ...train);
  const min = Math.min(...train);
  const missing = Object.fromEntries(
    SPLITS.map((s) => [s, examples.some((e) => e.split === s) ? labelSet.filter((l) => !(counts[s][l] ?? 0)) : []]),
  ) as Record<Split, string[]>;
  return { counts, imbalanceRatio: labelSet.length === 0 ? 1 : min === 0 ? Infinity : max / min, missing };
}

/**
 * A seeded k-shot draw. With `perLabel`, k examples for each label (greedy over a shuffled order:
 * an example is taken while one of its labels still needs examples, so multi-label NER/RE examples
 * count for all their labels); otherwise k examples.
 */
/** Whether a k-shot draw takes k examples per label (closed-label tasks: QA, NLI, RE) or k in all. */
export function kShotPerLabel(type: TaskType): boolean {
  return type === 'nli' || type === 'qa' || type === 're';
}

export function sampleKShot<E extends { readonly labels: readonly string[] }>(
  examples: readonly E[],
  options: { k: number; seed: number; perLabel?: boolean },
): E[] {
  const order = shuffled(examples, seededRandom(options.seed));
  if (!options.perLabel) return order.slice(0, options.k);
  const taken = new Map<string, number>();
  const chosen: E[] = [];
  for (const e of order) {
    if (!e.labels.some((l) => (taken.get(l) ?? 0) < options.k)) continue;
    chosen.push(e);
    for (const l of new Set(e.labels)) taken.set(l, (taken.get(l) ?? 0) + 1);
  }
  return chosen;
}
