/**
 * The epoch a training step's progress line shows (trainer.ts): the epoch its micro-batches come
 * from, so the last step of an epoch still belongs to it (it once showed the next epoch, "epoch 2"
 * at step 1 when an epoch was one batch).
 */
import { describe, expect, it } from 'vitest';

import { epochOfStep } from '../../../src-main/peft/trainer.js';

describe('epochOfStep', () => {
  it('counts steps of one batch each: an epoch of 3 batches is steps 1-3', () => {
    expect([1, 2, 3, 4, 6, 7].map((step) => epochOfStep(step, 1, 3))).toEqual([1, 1, 1, 2, 2, 3]);
  });

  it('an epoch of a single batch is a single step', () => {
    expect([1, 2, 3].map((step) => epochOfStep(step, 1, 1))).toEqual([1, 2, 3]);
  });

  it('with gradient accumulation a step takes several batches: 4 per step, 8 per epoch', () => {
    expect([1, 2, 3, 4, 5].map((step) => epochOfStep(step, 4, 8))).toEqual([1, 1, 2, 2, 3]);
  });
});
