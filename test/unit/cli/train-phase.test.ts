/**
 * What a training step's progress line says (cli/commands/training.ts): epoch and learning rate,
 * and in a distillation the step's task with its CE, KL and MSE, so they can be watched live.
 */
import { describe, expect, it } from 'vitest';

import { trainPhase } from '../../../src-main/cli/commands/training.js';

const step = { phase: 'train', step: 3, totalSteps: 10, epoch: 1, loss: 2.5, learningRate: 0.1 } as const;

describe('trainPhase', () => {
  it('a single-task step: epoch and learning rate', () => {
    expect(trainPhase(step)).toBe('epoch 1  lr 1.0e-1');
  });

  it("a distillation step: the task it trained and that task's loss terms", () => {
    const parts = { ce: 2.5227, kl: 0.74988, mse: 0.7316 };
    expect(trainPhase({ ...step, task: 'chemprot', parts })).toBe(
      'epoch 1  lr 1.0e-1  chemprot ce 2.5227 kl 0.7499 mse 0.7316',
    );
  });

  it('an evaluation: the dev metric once it is known', () => {
    expect(trainPhase({ ...step, phase: 'evaluate' })).toBe('evaluating on dev');
    expect(trainPhase({ ...step, phase: 'evaluate', metric: 0.8125 })).toBe('dev 0.8125');
  });
});
