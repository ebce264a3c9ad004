/**
 * Closed-label scores (QA options and yes/no/maybe, NLI, RE with a given pair): accuracy, macro-F1
 * over the label set (every label counts, also one never predicted), and micro-F1 over the
 * positive labels for RE datasets with a negative label (the ChemProt/DDI convention).
 * A null prediction (unparseable output) is wrong for every label.
 */
import { addTo, prf, typedPrf, type Counts, type Prf } from './prf.js';

export interface LabelPair {
  readonly gold: string;
  readonly predicted: string | null;
}

export interface ClassificationScores {
  readonly n: number;
  readonly accuracy: number;
  readonly macroF1: number;
  readonly perLabel: Readonly<Record<string, Prf>>;
  /** Micro-F1 without the negative label, when one was given. */
  readonly positiveMicroF1?: number;
  readonly unparseable: number;
}

export function accuracy(pairs: readonly LabelPair[]): number {
  return pairs.length === 0 ? 0 : pairs.filter((p) => p.predicted === p.gold).length / pairs.length;
}

export function classificationScores(
  pairs: readonly LabelPair[],
  labels: readonly string[],
  options: { negativeLabel?: string } = {},
): ClassificationScores {
  const counts = new Map<string, Counts>();
  for (const label of labels) addTo(counts, label, {});
  for (const { gold, predicted } of pairs) {
    addTo(counts, gold, { gold: 1 });
    if (predicted !== null) addTo(counts, predicted, { predicted: 1, tp: predicted === gold ? 1 : 0 });
  }
  const { perType } = typedPrf(counts);
  const f1s = Object.values(perType).map((s) => s.f1);
  const scores: ClassificationScores = {
    n: pairs.length,
    accuracy: accuracy(pairs),
    macroF1: f1s.length === 0 ? 0 : f1s.reduce((a, b) => a + b, 0) / f1s.length,
    perLabel: perType,
    unparseable: pairs.filter((p) => p.predicted === null).length,
  };
  if (options.negativeLabel === undefined) return scores;
  const positive = [...counts].filter(([label]) => label !== options.negativeLabel);
  const total = positive.reduce<Counts>(
    (sum, [, c]) => ({ tp: sum.tp + c.tp, predicted: sum.predicted + c.predicted, gold: sum.gold + c.gold }),
    { tp: 0, predicted: 0, gold: 0 },
  );
  return { ...scores, positiveMicroF1: prf(total).f1 };
}
