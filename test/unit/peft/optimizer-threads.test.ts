/**
 * The optimizer step on several threads (peft/optim/optimizer.ts) against the same step on one:
 * real worker threads, buffers moved by transfer, and results that must not differ by one bit.
 */
import { describe, expect, it } from 'vitest';

import { seededRandom } from '../../../src-main/common/random.js';
import { newAdamWState } from '../../../src-main/peft/optim/adamw.js';
import { AdamWOptimizer, splitBySize, THREADED_OPTIMIZER_MIN_VALUES } from '../../../src-main/peft/optim/optimizer.js';

const SETTINGS = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 };
// Big enough to be threaded; the last one is a view into a bigger buffer, as weights can be.
const SIZES: [string, number][] = [
  ['embed', 2_000_000],
  ['layer.0', 1_200_000],
  ['layer.1', 900_000],
  ['norm', 1_000],
];

function tensors(seed: number) {
  const r = seededRandom(seed);
  const fill = (n: number) => Float32Array.from({ length: n }, () => r() - 0.5);
  const values = new Map(SIZES.map(([name, n]) => [name, fill(n)]));
  const shared = new Float32Array(5_000);
  shared.set(values.get('norm')!, 2_000);
  values.set('norm', shared.subarray(2_000, 3_000));
  const adam = newAdamWState(new Map(SIZES));
  return { values, adam, grads: new Map<string, Float32Array>(), shared };
}

/** Three steps (the second skipped, as a loss-scaled step with an overflow is) with fixed gradients. */
async function run(threads: number, options: { sharedGradient?: boolean } = {}) {
  const t = tensors(1);
  const trainables = SIZES.map(([name]) => ({ name, decay: name !== 'norm' }));
  const optimizer = AdamWOptimizer.start(trainables, t, SETTINGS, threads, true);
  const norms: number[] = [];
  // layer.0's gradient as full fine-tuning's layer-by-layer step keeps the embedding's: one buffer,
  // every step (layer.0 goes to an optimizer thread: the largest tensor stays on this one)
  const shared = new Float32Array(new SharedArrayBuffer(SIZES[1]![1] * 4));
  try {
    for (let step = 0; step < 3; step++) {
      const r = seededRandom(100 + step);
      for (const [name, n] of SIZES) {
        const grad = Float32Array.from({ length: n }, () => (r() - 0.5) * 0.1);
        t.grads.set(name, name === 'layer.0' && options.sharedGradient ? (shared.set(grad), shared) : grad);
      }
      const norm = await optimizer.gradNorm();
      norms.push(norm);
      await optimizer.step(step !== 1, 1e-3, norm > 1 ? 1 / norm : 1);
    }
  } finally {
    await optimizer.close();
  }
  return { t, threadsUsed: optimizer.threads, norms, shared };
}

describe('AdamW on several threads', () => {
  it('shares a gradient in shared memory with its thread instead of taking it: the caller reuses it', async () => {
    const one = await run(1);
    const three = await run(3, { sharedGradient: true });
    expect(three.shared.length).toBe(SIZES[1]![1]); // never detached, step after step
    three.shared[0] = 42; // and not copied: the gradient the optimizer holds is the same memory
    expect(three.t.grads.get('layer.0')![0]).toBe(42);
    expect(three.norms).toEqual(one.norms);
    const [a, b] = [one.t.values.get('layer.0')!, three.t.values.get('layer.0')!];
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
  });

  it('gives bit-identical norms, weights and moments to one thread, and hands back live arrays', async () => {
    expect(SIZES.reduce((a, [, n]) => a + n, 0)).toBeGreaterThanOrEqual(THREADED_OPTIMIZER_MIN_VALUES);
    const one = await run(1);
    const three = await run(3);
    expect(one.threadsUsed).toBe(1);
    expect(three.threadsUsed).toBe(3);
    expect(three.norms).toEqual(one.norms);
    expect(one.t.adam.step).toBe(2);
    expect(three.t.adam.step).toBe(2);
    for (const [name, n] of SIZES)
      for (const map of ['values', 'grads'] as const) {
        const a = one.t[map].get(name)!;
        const b = three.t[map].get(name)!;
        expect(b.length, `${map} ${name} is live`).toBe(n);
        expect(
          Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(Buffer.from(a.buffer, a.byteOffset, a.byteLength)),
          `${map} ${name}`,
        ).toBe(true);
      }
    for (const [name] of SIZES)
      for (const moment of ['m', 'v'] as const) {
        const a = one.t.adam[moment].get(name)!;
        const b = three.t.adam[moment].get(name)!;
        expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer)), `${moment} ${name}`).toBe(true);
      }
    // the weights moved, and the one-thread run updated the view inside its shared buffer in place
    expect(one.t.values.get('embed')![0]).not.toBe(tensors(1).values.get('embed')![0]);
    expect(one.t.values.get('norm')!.buffer).toBe(one.t.shared.buffer);
  });

  it('stays on one thread for small trainables (prompt tuning, LoRA), and lets go of gradients it need not keep', async () => {
    const values = new Map([['prompt', new Float32Array(16 * 256)]]);
    const grads = new Map([['prompt', new Float32Array(16 * 256).fill(0.5)]]);
    const optimizer = AdamWOptimizer.start(
      [{ name: 'prompt', decay: false }],
      { values, adam: newAdamWState(new Map([['prompt', 16 * 256]])), grads },
      SETTINGS,
      8,
    );
    expect(optimizer.threads).toBe(1);
    expect(await optimizer.gradNorm()).toBeCloseTo(0.5 * Math.sqrt(16 * 256), 9);
    await optimizer.step(true, 0.1, 1);
    expect(values.get('prompt')![0]).toBeCloseTo(-0.1, 6);
    expect(grads.size).toBe(0);
    await optimizer.close();
  });

  it('a step whose optimizer thread has stopped fails with why, instead of waiting for an answer', async () => {
    const t = tensors(2);
    const optimizer = AdamWOptimizer.start(
      SIZES.map(([name]) => ({ name, decay: true })),
      t,
      SETTINGS,
      3,
    );
    expect(optimizer.threads).toBe(3);
    for (const [name, n] of SIZES) t.grads.set(name, new Float32Array(n).fill(0.01));
    await optimizer.close(); // the threads end, as one killed for memory would
    await expect(optimizer.gradNorm()).rejects.toThrow(/optimizer thread stopped \(exit code \d+\) before it answered/);
    await expect(optimizer.step(true, 1e-3, 1)).rejects.toThrow(/optimizer thread stopped/);
    expect(optimizer.intact).toBe(false);
  });

  it('splits tensors into groups of about equal size', () => {
    const groups = splitBySize(
      [
        ['a', 10],
        ['b', 6],
        ['c', 5],
        ['d', 4],
      ],
      2,
    );
    expect(groups).toEqual([
      ['a', 'd'],
      ['b', 'c'],
    ]);
  });
});
