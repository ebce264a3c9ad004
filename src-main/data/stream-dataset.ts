/**
 * Reading a dataset as a stream for the store (services/datasets.ts hands `examples` to
 * DatasetsRepository.importDatasetStream in the store): each example is given its final split, checked for
 * duplicates and passed on as it is parsed, so memory does not grow with the size of the file's text.
 *
 * What is kept per example is fixed-size digests (three DigestTables, a 12-byte slot each for the
 * normalised input, the exact input and the exact input+target, at most 70% full, so 51-103 bytes
 * an example, never the text); everything else is
 * counts. That table is the one part that grows with the source (~54 MiB for 400,000 inputs).
 *
 * - Splits: kept when given. An example without one gets a split from a seeded hash of its
 *   normalised input (DEFAULT_RATIOS over the splits the source does not give), so identical
 *   inputs always land together and the draw is reproducible from the seed. Ratios hold in
 *   expectation (not exactly, as the in-memory assignSplits did).
 * - `devFraction`: a train example moves to dev by a second seeded hash of its input when the
 *   source gives no dev split and has no unsplit examples (those draw dev themselves).
 * - Both decisions depend on which splits the source gives, which is only certain at its end. When
 *   a later example reveals a split (or the first unsplit example) after a decision that depended
 *   on it, the pass yields RESTART_IMPORT (the store drops what it wrote, in the same transaction)
 *   and reads the source again knowing more: at most 4 restarts, none for sources whose split comes
 *   from file names in the usual order or from nothing at all. A source that cannot be read twice
 *   (a pipe) must not mix given and missing splits.
 * - Examples of one group (a document's sentences, a `--group-by` value) draw their split from the
 *   group's digest, so a group never straddles splits.
 * - De-duplication is exact (case-sensitive): the same input and target again in the same split
 *   is dropped; the same input with another target is a conflict, kept once per target and listed.
 *   Both use exact digests; the leakage check uses normalised ones (case and spacing ignored), and
 *   the leaked examples' ids are found by re-reading the written dev/test rows.
 */
import { createHash } from 'node:crypto';

import { UserError } from '../common/errors.js';
import type { ImportFormat } from '../common/vocabulary.js';
import { SPLITS, type Split } from '../tasks/types.js';
import { IMPORTERS, sortLabels, type DatasetReport, type ReadOptions } from './read-dataset.js';
import { DEFAULT_RATIOS, MAX_LISTED, normalised } from './splits.js';
import { ImportNotices, type RawExample } from './source.js';

/** Tells the writer to drop what this stream gave so far: a new pass over the source follows. */
export const RESTART_IMPORT = { restart: true } as const;

/** An example with its final split, as the store writes it. */
export interface StreamedExample {
  readonly split: Split;
  readonly externalId?: string;
  readonly input: unknown;
  readonly target: unknown;
  readonly labels: readonly string[];
}

/** What the store wrote (DatasetsRepository.importDatasetStream's InsertedExamples). */
export interface WrittenExamples {
  readonly counts: Record<Split, number>;
  readonly labelCounts: Record<Split, Record<string, number>>;
  scan(
    split: Split,
  ): Iterable<{ readonly position: number; readonly externalId: string | null; readonly input: unknown }>;
}

const SPLIT_BIT: Record<Split, number> = { train: 1, dev: 2, test: 4 };
const OCCUPIED = 8;
/** Words per slot: digest (2), split mask. */
const WORDS = 3;

/**
 * An open-addressing hash table from a 64-bit digest to the splits it occurs in, in one
 * Uint32Array (no per-entry objects).
 */
export class DigestTable {
  #slots = new Uint32Array(WORDS * 1024);
  #capacity = 1024;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get bytes(): number {
    return this.#slots.byteLength;
  }

  /** The slot offset of `key`, created (with an empty mask) when absent. */
  slot(k0: number, k1: number): number {
    if ((this.#size + 1) * 10 > this.#capacity * 7) this.#grow();
    const at = this.#find(this.#slots, this.#capacity, k0, k1);
    if (!(this.#slots[at + 2]! & OCCUPIED)) {
      this.#slots[at] = k0;
      this.#slots[at + 1] = k1;
      this.#slots[at + 2] = OCCUPIED;
      this.#size++;
    }
    return at;
  }

  /** The slot offset of `key`, or -1. */
  lookup(k0: number, k1: number): number {
    const at = this.#find(this.#slots, this.#capacity, k0, k1);
    return this.#slots[at + 2]! & OCCUPIED ? at : -1;
  }

  get words(): Uint32Array {
    return this.#slots;
  }

  /** Split masks of every entry. */
  *masks(): Generator<number> {
    for (let at = 0; at < this.#slots.length; at += WORDS) {
      const mask = this.#slots[at + 2]!;
      if (mask & OCCUPIED) yield mask;
    }
  }

  #find(slots: Uint32Array, capacity: number, k0: number, k1: number): number {
    let i = k0 & (capacity - 1);
    for (;;) {
      const at = i * WORDS;
      if (!(slots[at + 2]! & OCCUPIED) || (slots[at] === k0 && slots[at + 1] === k1)) return at;
      i = (i + 1) & (capacity - 1);
    }
  }

  #grow(): void {
    const old = this.#slots;
    this.#capacity *= 2;
    this.#slots = new Uint32Array(WORDS * this.#capacity);
    for (let at = 0; at < old.length; at += WORDS) {
      if (!(old[at + 2]! & OCCUPIED)) continue;
      const to = this.#find(this.#slots, this.#capacity, old[at]!, old[at + 1]!);
      this.#slots.set(old.subarray(at, at + WORDS), to);
    }
  }
}

/** The first 8 bytes of SHA-256 of the normalised value (the same normalisation as splits.fingerprint). */
export function digest(value: unknown): Buffer {
  return createHash('sha256').update(normalised(value)).digest().subarray(0, 8);
}

/** The first 8 bytes of SHA-256 of the exact value (what de-duplication compares). */
export function exactDigest(value: unknown): Buffer {
  return createHash('sha256')
    .update(JSON.stringify(value) ?? 'null')
    .digest()
    .subarray(0, 8);
}

/** A number in [0, 1) from a seeded hash of an input digest: the same input, seed and purpose give the same draw. */
export function seededDraw(purpose: string, seed: number, inputDigest: Buffer): number {
  return createHash('sha256').update(`${purpose}:${seed}:`).update(inputDigest).digest().readUInt32BE(0) / 2 ** 32;
}

/** The split drawn for `u` among the splits a source lacks (train when it gives them all). */
export function drawSplit(u: number, given: ReadonlySet<Split>): Split {
  const pool = SPLITS.filter((s) => !given.has(s) && DEFAULT_RATIOS[s] > 0);
  if (pool.length === 0) return 'train';
  const total = pool.reduce((sum, s) => sum + DEFAULT_RATIOS[s], 0);
  let edge = 0;
  for (const s of pool) {
    edge += DEFAULT_RATIOS[s] / total;
    if (u < edge) return s;
  }
  return pool[pool.length - 1] as Split;
}

export interface DatasetStream {
  /** The examples to write, with their final split, duplicates left out; may yield RESTART_IMPORT. */
  readonly examples: AsyncIterable<StreamedExample | typeof RESTART_IMPORT>;
  /** After the last example (inside the store's transaction): the label set and the report. */
  finish(inserted: WrittenExamples): { labelSet: string[]; report: DatasetReport };
  /** Passes restarted so far (see the file comment). */
  readonly restarts: number;
  /** Bytes held by the digest tables (51-103 bytes a distinct example). */
  readonly digestBytes: number;
}

interface Pass {
  /** Normalised input digest -> the splits it occurs in (leakage ignores case and spacing). */
  table: DigestTable;
  /** Exact input digest -> the splits it occurs in (conflicts). */
  inputs: DigestTable;
  /** Exact input+target digest -> the splits it occurs in. */
  pairs: DigestTable;
  read: number;
  removed: number;
  conflicting: number;
  conflicts: string[];
  unlabelled: boolean;
  notices: ImportNotices;
}

const newPass = (): Pass => ({
  table: new DigestTable(),
  inputs: new DigestTable(),
  pairs: new DigestTable(),
  read: 0,
  removed: 0,
  conflicting: 0,
  conflicts: [],
  unlabelled: true,
  notices: new ImportNotices(),
});

export function streamDataset(format: ImportFormat, source: string, options: ReadOptions): DatasetStream {
  const seed = options.seed ?? 42;
  const fraction = options.devFraction ?? 0;
  const given = new Set<Split>();
  let unsplitSeen = false;
  let restarts = 0;
  let pass = newPass();

  /** The final split of `raw` (drawn from `key`, its group's or input's digest), and whether that decision depended on what is known of the source. */
  const decide = (raw: RawExample, key: Buffer): [Split, boolean] => {
    let split = raw.split;
    let dependent = false;
    if (split === undefined) {
      split = drawSplit(seededDraw('split', seed, key), given);
      dependent = true;
    }
    if (fraction > 0 && split === 'train') {
      dependent = true;
      if (!given.has('dev') && !unsplitSeen && seededDraw('dev', seed, key) < fraction) split = 'dev';
    }
    return [split, dependent];
  };

  async function* examples(): AsyncGenerator<StreamedExample | typeof RESTART_IMPORT> {
    for (;;) {
      pass = newPass();
      let dependent = false;
      let restart = false;
      for await (const raw of IMPORTERS[format](source, { ...options, notices: pass.notices })) {
        let learned = false;
        if (raw.split !== undefined && !given.has(raw.split)) {
          given.add(raw.split);
          learned = true;
        }
        if (raw.split === undefined && !unsplitSeen) {
          unsplitSeen = true;
          learned ||= fraction > 0;
        }
        if (learned && dependent) {
          restart = true;
          break;
        }
        pass.read++;
        const key = digest(raw.input);
        const [split, depends] = decide(raw, raw.group !== undefined ? digest({ group: raw.group }) : key);
        dependent ||= depends;
        const bit = SPLIT_BIT[split];
        const input = exactDigest(raw.input);
        const pair = exactDigest([raw.input, raw.target]);
        const pairAt = pass.pairs.slot(pair.readUInt32BE(0), pair.readUInt32BE(4));
        if (pass.pairs.words[pairAt + 2]! & bit) {
          pass.removed++;
          continue;
        }
        pass.pairs.words[pairAt + 2] = pass.pairs.words[pairAt + 2]! | bit;
        const inputAt = pass.inputs.slot(input.readUInt32BE(0), input.readUInt32BE(4));
        if (pass.inputs.words[inputAt + 2]! & bit) {
          pass.conflicting++;
          if (pass.conflicts.length < MAX_LISTED) pass.conflicts.push(raw.externalId ?? `${split} #${pass.read}`);
        }
        pass.inputs.words[inputAt + 2] = pass.inputs.words[inputAt + 2]! | bit;
        const at = pass.table.slot(key.readUInt32BE(0), key.readUInt32BE(4));
        pass.table.words[at + 2] = pass.table.words[at + 2]! | bit;
        if (raw.target !== null) pass.unlabelled = false;
        const example: StreamedExample = {
          split,
          ...(raw.externalId !== undefined ? { externalId: raw.externalId } : {}),
          input: raw.input,
          target: raw.target,
          labels: raw.labels,
        };
        yield example;
      }
      if (!restart) break;
      restarts++;
      yield RESTART_IMPORT;
    }
    if (pass.read === 0) {
      throw new UserError(
        'BAD_FILE',
        `${source} holds no ${options.task} examples. Check the path, format, task and mapping.`,
      );
    }
  }

  const finish = (inserted: WrittenExamples): { labelSet: string[]; report: DatasetReport } => {
    const labelSet = sortLabels(options.task, new Set(SPLITS.flatMap((s) => Object.keys(inserted.labelCounts[s]))));
    let trainDev = 0;
    let trainTest = 0;
    let devTest = 0;
    for (const mask of pass.table.masks()) {
      if ((mask & 3) === 3) trainDev++;
      if ((mask & 5) === 5) trainTest++;
      if ((mask & 6) === 6) devTest++;
    }
    const leaked: string[] = [];
    if (trainDev + trainTest > 0) {
      for (const split of ['dev', 'test'] as const) {
        for (const row of inserted.scan(split)) {
          if (leaked.length >= MAX_LISTED) break;
          const key = digest(row.input);
          const at = pass.table.lookup(key.readUInt32BE(0), key.readUInt32BE(4));
          if (at >= 0 && pass.table.words[at + 2]! & SPLIT_BIT.train) {
            leaked.push(row.externalId ?? `${split} #${row.position + 1}`);
          }
        }
      }
    }
    return {
      labelSet,
      report: {
        read: pass.read,
        duplicatesRemoved: pass.removed,
        conflictingDuplicates: pass.conflicting,
        conflicts: pass.conflicts,
        notices: pass.notices.counts,
        skipped: pass.notices.skipped,
        skippedCount: pass.notices.skippedCount,
        splitsDrawn: unsplitSeen,
        leakage: { trainDev, trainTest, devTest, examples: leaked },
        balance: balanceFromCounts(inserted.labelCounts, inserted.counts, labelSet),
        unlabelled: pass.unlabelled,
      },
    };
  };

  return {
    examples: examples(),
    finish,
    get restarts() {
      return restarts;
    },
    get digestBytes() {
      return pass.table.bytes + pass.inputs.bytes + pass.pairs.bytes;
    },
  };
}

/** splits.balanceReport from counts kept while streaming. */
function balanceFromCounts(
  counts: Record<Split, Record<string, number>>,
  sizes: Record<Split, number>,
  labelSet: readonly string[],
): DatasetReport['balance'] {
  const train = labelSet.map((l) => counts.train[l] ?? 0);
  const max = Math.max(0, ...train);
  const min = Math.min(...train);
  const missing = Object.fromEntries(
    SPLITS.map((s) => [s, sizes[s] > 0 ? labelSet.filter((l) => !(counts[s][l] ?? 0)) : []]),
  ) as Record<Split, string[]>;
  const copy = { train: { ...counts.train }, dev: { ...counts.dev }, test: { ...counts.test } };
  return { counts: copy, imbalanceRatio: labelSet.length === 0 ? 1 : min === 0 ? Infinity : max / min, missing };
}
