/**
 * Scoring a task's generated (or closed-label) outputs against gold targets with the metric
 * DESIGN.md section 2 assigns to its type, each with a percentile-bootstrap 95% interval over
 * examples: NER strict/lenient micro F1, RE micro F1 (or, with a given pair, accuracy/macro-F1),
 * QA accuracy and macro-F1 (exact match and token F1 for free answers), NLI accuracy and macro-F1,
 * summarisation ROUGE-1/2/L/Lsum F1. Unparseable outputs are scored as wrong and listed.
 */
import { bootstrapCI, type BootstrapOptions, type ConfidenceInterval } from './metrics/bootstrap.js';
import { classificationScores, type LabelPair } from './metrics/classification.js';
import {
  entityDocumentCounts,
  relationDocumentCounts,
  type EntityDocument,
  type RelationDocument,
} from './metrics/entities.js';
import { addCounts, prf, ZERO_COUNTS, typedPrf, type Counts, type TypedPrf } from './metrics/prf.js';
import { exactMatch, tokenF1 } from './metrics/qa.js';
import { rouge } from './metrics/rouge.js';
import type { NerPrediction, RePrediction } from './parse.js';
import { parseOutput, type TaskConfig } from './registry.js';
import type { Entity, TaskInput, TaskTarget, TaskType } from './types.js';

export interface Scored<T extends TaskType = TaskType> {
  readonly input: TaskInput<T>;
  readonly target: TaskTarget<T>;
  /** The generated text, parsed with the task's parser. */
  readonly output: string;
}

export interface Evaluation {
  readonly n: number;
  /** Headline metrics, each with its bootstrap interval. */
  readonly metrics: Readonly<Record<string, ConfidenceInterval>>;
  /** Per-type (NER/RE) or per-label breakdown of the point estimates. */
  readonly breakdown?: TypedPrf['perType'];
  readonly unparseable: number;
  /** Indices and raw text of outputs that could not be read (shown to the user). */
  readonly problems: readonly { readonly index: number; readonly raw: string; readonly problems: readonly string[] }[];
}

function microF1(perDoc: readonly Map<string, Counts>[]): number {
  let total = ZERO_COUNTS;
  for (const doc of perDoc) for (const c of doc.values()) total = addCounts(total, c);
  return prf(total).f1;
}

function mergeTyped(perDoc: readonly Map<string, Counts>[]): TypedPrf {
  const merged = new Map<string, Counts>();
  for (const doc of perDoc)
    for (const [type, c] of doc) merged.set(type, addCounts(merged.get(type) ?? ZERO_COUNTS, c));
  return typedPrf(merged);
}

function goldLabel(type: TaskType, target: TaskTarget): string {
  if (type === 'nli') return (target as TaskTarget<'nli'>).label;
  if (type === 'qa') return (target as TaskTarget<'qa'>).answer;
  return (target as TaskTarget<'re'>).label ?? '';
}

export function evaluate<T extends TaskType>(
  config: TaskConfig<T>,
  items: readonly Scored<T>[],
  options: BootstrapOptions = {},
): Evaluation {
  const parsed = items.map((item) => parseOutput(config, item.output, item.input));
  const problems = parsed.flatMap((p, index) => (p.ok ? [] : [{ index, raw: p.raw, problems: p.problems }]));
  const base = { n: items.length, unparseable: problems.length, problems };
  const ci = <X>(values: readonly X[], metric: (sample: readonly X[]) => number) =>
    bootstrapCI(values, metric, options);
  const type = config.type as TaskType;

  if (type === 'ner') {
    const docs = items.map((item, i): EntityDocument => {
      const value = parsed[i]?.value as NerPrediction;
      const unaligned: Entity[] = value.unaligned.map((m) => ({ start: -1, end: -1, type: m.type, text: m.text }));
      return { gold: (item.target as TaskTarget<'ner'>).entities, predicted: [...value.entities, ...unaligned] };
    });
    const counts = docs.map(entityDocumentCounts);
    const strict = counts.map((c) => c.strict);
    const lenient = counts.map((c) => c.lenient);
    return {
      ...base,
      metrics: { strictF1: ci(strict, microF1), lenientF1: ci(lenient, microF1) },
      breakdown: mergeTyped(strict).perType,
    };
  }

  const pairGiven = type === 're' && (items[0]?.input as TaskInput<'re'> | undefined)?.pair !== undefined;
  if (type === 're' && !pairGiven) {
    const counts = items.map((item, i) =>
      relationDocumentCounts({
        gold: (item.target as TaskTarget<'re'>).relations,
        predicted: (parsed[i]?.value as RePrediction).relations,
      } satisfies RelationDocument),
    );
    return { ...base, metrics: { microF1: ci(counts, microF1) }, breakdown: mergeTyped(counts).perType };
  }

  if (type === 'summarization') {
    const scores = items.map((item, i) =>
      rouge((item.target as TaskTarget<'summarization'>).summary, parsed[i]?.ok ? String(parsed[i]?.value) : ''),
    );
    const mean = (key: 'rouge1' | 'rouge2' | 'rougeL' | 'rougeLsum') => (s: readonly (typeof scores)[number][]) =>
      s.length === 0 ? 0 : s.reduce((sum, x) => sum + x[key].f1, 0) / s.length;
    return {
      ...base,
      metrics: {
        rouge1: ci(scores, mean('rouge1')),
        rouge2: ci(scores, mean('rouge2')),
        rougeL: ci(scores, mean('rougeL')),
        rougeLsum: ci(scores, mean('rougeLsum')),
      },
    };
  }

  if (type === 'qa' && (items[0]?.input as TaskInput<'qa'> | undefined)?.kind === 'free') {
    const pairs = items.map((item, i) => ({
      gold: (item.target as TaskTarget<'qa'>).answer,
      predicted: parsed[i]?.ok ? String(parsed[i]?.value) : null,
    }));
    const em = (s: readonly (typeof pairs)[number][]) =>
      s.length === 0
        ? 0
        : s.reduce((sum, p) => sum + (p.predicted === null ? 0 : exactMatch(p.predicted, p.gold)), 0) / s.length;
    const f1 = (s: readonly (typeof pairs)[number][]) =>
      s.length === 0
        ? 0
        : s.reduce((sum, p) => sum + (p.predicted === null ? 0 : tokenF1(p.predicted, p.gold)), 0) / s.length;
    return { ...base, metrics: { exactMatch: ci(pairs, em), tokenF1: ci(pairs, f1) } };
  }

  // Closed labels: QA options or yes/no/maybe, NLI, RE with a given pair.
  const pairs: LabelPair[] = items.map((item, i) => ({
    gold: goldLabel(type, item.target as TaskTarget),
    predicted: (parsed[i]?.value as string | null | undefined) ?? null,
  }));
  const labels = config.labels.length > 0 ? config.labels : [...new Set(pairs.map((p) => p.gold))];
  const scores = classificationScores(pairs, labels);
  return {
    ...base,
    metrics: {
      accuracy: ci(pairs, (s) => classificationScores(s, labels).accuracy),
      macroF1: ci(pairs, (s) => classificationScores(s, labels).macroF1),
    },
    breakdown: scores.perLabel,
  };
}

/** The metric a task is judged by: ROUGE-L for summaries, else the first the evaluation lists (strict F1, micro F1, accuracy, exact match). */
export function headlineMetric(e: Evaluation): string {
  return 'rougeL' in e.metrics ? 'rougeL' : Object.keys(e.metrics)[0]!;
}
