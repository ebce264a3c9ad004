/**
 * MPT distillation's task mixing (trainer.ts): each step trains one source task, drawn with
 * probability proportional to its number of examples counted up to `taskSizeCap` (config.ts,
 * default 3000), so one large source cannot crowd out the others; the draw of a step is a function
 * of (seed, step), so a resumed run repeats it.
 */
import { describe, expect, it } from 'vitest';

import { TrainConfigSchema } from '../../../src-main/peft/config.js';
import { taskOfStep, taskWeights } from '../../../src-main/peft/trainer.js';

const DEFAULT_CAP = TrainConfigSchema.parse({}).taskSizeCap;

/** How many of steps 1..n each task trains. */
function drawCounts(weights: readonly number[], seed: number, n: number): number[] {
  const counts = weights.map(() => 0);
  for (let step = 1; step <= n; step++) counts[taskOfStep(weights, seed, step)]!++;
  return counts;
}

describe('task mixing', () => {
  it('weights tasks by their size; below the cap the cap changes nothing', () => {
    expect(DEFAULT_CAP).toBe(3000);
    expect(taskWeights([100, 300, 600], DEFAULT_CAP)).toEqual([0.1, 0.3, 0.6]);
    expect(taskWeights([100, 300, 600], 600)).toEqual([0.1, 0.3, 0.6]);
    expect(taskWeights([7], DEFAULT_CAP)).toEqual([1]);
  });

  it('counts a task only up to the cap, so a large task draws less than its size would give it', () => {
    // uncapped, 12,000 examples beside 1,000 and 2,000 would take 12/15 = 80% of the steps
    expect(taskWeights([1000, 2000, 12_000], Infinity)).toEqual([1 / 15, 2 / 15, 12 / 15]);
    // the default cap counts it as 3,000: 3/6 = 50%
    expect(taskWeights([1000, 2000, 12_000], DEFAULT_CAP)).toEqual([1 / 6, 2 / 6, 3 / 6]);
    // a cap of 1,500 also caps the middle task: 1000 : 1500 : 1500
    expect(taskWeights([1000, 2000, 12_000], 1500)).toEqual([0.25, 0.375, 0.375]);
    // every task over the cap: an even mix
    expect(taskWeights([5000, 8000, 40_000], DEFAULT_CAP)).toEqual([1 / 3, 1 / 3, 1 / 3]);
  });

  it('draws each task in its share of the steps', () => {
    const n = 30_000;
    for (const [sizes, seed] of [
      [[1000, 2000, 12_000], 42],
      [[50, 5000], 7],
    ] as const) {
      const weights = taskWeights(sizes, DEFAULT_CAP);
      const counts = drawCounts(weights, seed, n);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(n);
      weights.forEach((p, k) => {
        // within 4 binomial standard deviations of n p
        const sd = Math.sqrt(n * p * (1 - p));
        expect(Math.abs(counts[k]! - n * p), `task ${k} of ${sizes.join(', ')}: ${counts[k]} draws`).toBeLessThan(
          4 * sd,
        );
      });
    }
    // the capped large task's share, uncapped 80%: 50% of the steps
    const capped = drawCounts(taskWeights([1000, 2000, 12_000], DEFAULT_CAP), 42, n);
    expect(capped[2]! / n).toBeGreaterThan(0.49);
    expect(capped[2]! / n).toBeLessThan(0.51);
  });

  it('a step draws the same task every time (resume), another seed another sequence; one task is always task 0', () => {
    const weights = taskWeights([300, 300, 300], DEFAULT_CAP);
    const first = Array.from({ length: 200 }, (_, i) => taskOfStep(weights, 42, i + 1));
    expect(Array.from({ length: 200 }, (_, i) => taskOfStep(weights, 42, i + 1))).toEqual(first);
    expect(Array.from({ length: 200 }, (_, i) => taskOfStep(weights, 43, i + 1))).not.toEqual(first);
    expect(new Set(first)).toEqual(new Set([0, 1, 2]));
    expect(drawCounts([1], 42, 100)).toEqual([100]);
  });
});
