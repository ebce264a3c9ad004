import { describe, expect, it } from 'vitest';

import { ProgressTracker } from '../../../src-main/jobs/progress.js';

describe('ProgressTracker', () => {
  it('derives ETA and tokens/s from the observed step rate', () => {
    let now = 0;
    const tracker = new ProgressTracker('job-1', 'system-check', () => now);
    const first = tracker.report({ phase: 'Training', step: 0, totalSteps: 10 });
    expect(first.etaSeconds).toBeUndefined(); // no rate yet

    now = 2000; // 2 steps in 2 s, 512 tokens
    const second = tracker.report({ phase: 'Training', step: 2, totalSteps: 10, loss: 2.5, tokens: 512 });
    expect(second.etaSeconds).toBeCloseTo(8); // 8 steps left at 1 s each
    expect(second.tokensPerSecond).toBeCloseTo(256);
    expect(second.loss).toBe(2.5);

    now = 5000; // one slow step (3 s): the moving average moves, but not all the way
    const third = tracker.report({ phase: 'Training', step: 3, totalSteps: 10 });
    expect(third.etaSeconds).toBeCloseTo(7 * (0.7 * 1 + 0.3 * 3));
  });
});
