import { describe, expect, it } from 'vitest';

import type { AdamWSettings, AdamWState } from '../../../src-main/peft/optim/adamw.js';
import { adamWKernel, adamWScalars, newAdamWState } from '../../../src-main/peft/optim/adamw.js';
import { AdamWOptimizer } from '../../../src-main/peft/optim/optimizer.js';
import { learningRate } from '../../../src-main/peft/optim/schedule.js';

const SETTINGS = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1 };

/** One update of the tensor `name` at the state's step, as the optimizer applies it. */
function adamWUpdate(
  state: AdamWState,
  name: string,
  param: Float32Array,
  grad: Float32Array,
  lr: number,
  s: AdamWSettings,
  decay: boolean,
  gradScale = 1,
): void {
  adamWKernel(param, grad, state.m.get(name)!, state.v.get(name)!, adamWScalars(state.step, lr, s, decay, gradScale));
}

describe('AdamW', () => {
  it('first step moves each parameter by lr against its gradient sign, after decoupled decay', () => {
    const state = newAdamWState(new Map([['w', 3]]));
    const w = Float32Array.of(1, -2, 0.5);
    state.step = 1;
    adamWUpdate(state, 'w', w, Float32Array.of(0.3, -4, 1e-3), 0.01, SETTINGS, true);
    // bias-corrected m / sqrt(v) = g / |g| at step 1; decay shrinks p by (1 - lr * wd) first
    const expected = [1 * (1 - 0.001) - 0.01, -2 * (1 - 0.001) + 0.01, 0.5 * (1 - 0.001) - 0.01];
    expected.forEach((e, i) => expect(w[i]).toBeCloseTo(e, 6));
  });

  it('matches the update written out by hand over three steps, and skips decay where told', () => {
    const state = newAdamWState(new Map([['p', 1]]));
    const p = Float32Array.of(0.7);
    const grads = [0.5, -0.2, 0.1];
    let m = 0;
    let v = 0;
    let ref = 0.7;
    grads.forEach((g, k) => {
      state.step = k + 1;
      adamWUpdate(state, 'p', p, Float32Array.of(g), 0.05, SETTINGS, false);
      m = 0.9 * m + 0.1 * g;
      v = 0.999 * v + 0.001 * g * g;
      const mHat = m / (1 - 0.9 ** (k + 1));
      const vHat = v / (1 - 0.999 ** (k + 1));
      ref -= (0.05 * mHat) / (Math.sqrt(vHat) + 1e-8);
    });
    expect(p[0]).toBeCloseTo(ref, 6);
  });

  it('applies the clipping factor in the update: gradScale * g is the gradient', () => {
    const [a, b] = [newAdamWState(new Map([['p', 2]])), newAdamWState(new Map([['p', 2]]))];
    const [pa, pb] = [Float32Array.of(0.3, -0.4), Float32Array.of(0.3, -0.4)];
    for (const [k, g] of [
      [0.8, -1.2],
      [0.1, 0.5],
    ].entries()) {
      a.step = b.step = k + 1;
      adamWUpdate(a, 'p', pa, Float32Array.from(g!), 0.01, SETTINGS, true, 0.25);
      adamWUpdate(b, 'p', pb, Float32Array.from(g!.map((x) => x * 0.25)), 0.01, SETTINGS, true);
    }
    expect([...pa]).toEqual([...pb]);
  });

  it('global norm covers every tensor', async () => {
    const optimizer = AdamWOptimizer.start(
      [
        { name: 'a', decay: false },
        { name: 'b', decay: false },
      ],
      {
        values: new Map([
          ['a', new Float32Array(1)],
          ['b', new Float32Array(2)],
        ]),
        adam: newAdamWState(
          new Map([
            ['a', 1],
            ['b', 2],
          ]),
        ),
        grads: new Map([
          ['a', Float32Array.of(3)],
          ['b', Float32Array.of(0, 4)],
        ]),
      },
      SETTINGS,
      1,
    );
    expect(await optimizer.gradNorm()).toBeCloseTo(5, 6);
    await optimizer.close();
  });
});

describe('learning-rate schedule', () => {
  it('warms up linearly, then decays to near zero (linear) or along a half cosine', () => {
    const lr = (step: number, schedule: 'linear' | 'cosine' | 'constant') => learningRate(step, 110, 1, 10, schedule);
    expect([1, 5, 10].map((s) => lr(s, 'linear'))).toEqual([0.1, 0.5, 1]);
    expect(lr(11, 'linear')).toBe(1);
    expect(lr(61, 'linear')).toBeCloseTo(0.5, 6);
    expect(lr(110, 'linear')).toBeCloseTo(0.01, 6);
    expect(lr(61, 'cosine')).toBeCloseTo(0.5, 6);
    expect(lr(110, 'cosine')).toBeLessThan(0.001);
    expect(lr(90, 'constant')).toBe(1);
  });
});
