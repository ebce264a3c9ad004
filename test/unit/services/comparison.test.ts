/**
 * The Evaluate step's few-shot curve points from an evaluation: one line per method run at two or
 * more k, each starting at the untrained backbone (k = 0); nothing when no method has a curve.
 */
import { describe, expect, it } from 'vitest';

import type { EvaluationView, MetricView } from '../../../src-main/ipc/contract.js';
import { fewShotPoints } from '../../../src-main/services/comparison.js';

const m = (estimate: number): MetricView[] => [
  { name: 'accuracy', estimate, low: estimate - 0.1, high: estimate + 0.1 },
  { name: 'macroF1', estimate: estimate / 2, low: 0, high: 1 },
];
const run = (method: string, trainExamples: number, estimate: number) => ({
  run: `/runs/${method}-${trainExamples}`,
  method,
  trainExamples,
  metrics: m(estimate),
  unparseable: 0,
});
const view = (runs: EvaluationView['runs']): Omit<EvaluationView, 'curve'> => ({
  split: 'test',
  n: 8,
  headline: 'accuracy',
  confidence: 0.95,
  adapted: m(0.75),
  baseline: m(0.5),
  perLabel: [],
  unparseable: { adapted: 0, baseline: 0 },
  examples: [],
  method: 'pt',
  trainExamples: 24,
  runs,
});

describe('few-shot curve points', () => {
  it('draws a method run at several k from the untrained backbone, and leaves out a method with one k', () => {
    const points = fewShotPoints(view([run('pt', 6, 0.625), run('lora', 24, 0.7), run('pt', 24, 0.1)]));
    expect(points.map((p) => [p.method, p.k, p.estimate])).toEqual([
      ['pt', 0, 0.5],
      ['pt', 6, 0.625],
      // the adapted prompt stands for pt at k = 24, not the second run at the same k
      ['pt', 24, 0.75],
    ]);
    expect(points[0]).toMatchObject({ low: 0.4, high: 0.6 });
  });

  it('is empty when every method was run at one k only', () => {
    expect(fewShotPoints(view([]))).toEqual([]);
    expect(fewShotPoints(view([run('lora', 6, 0.6), run('pt', 24, 0.7)]))).toEqual([]);
  });
});
