/**
 * Losses: values against direct computation, gradients against float64 central differences, and
 * the cross-entropy backward's structure (fused softmax-minus-one-hot, no scatter).
 */
import { describe, expect, it } from 'vitest';
import { gradients } from '../../../src-main/engine/autodiff.js';
import { Graph } from '../../../src-main/engine/graph.js';
import { distillationKl, hiddenMse, tokenCrossEntropy, weightedSum } from '../../../src-main/engine/losses.js';
import { maskPositions } from '../../../src-main/engine/ops.js';
import { serialize } from '../../../src-main/engine/serialize.js';
import { createSession, ort } from '../../../src-main/engine/session.js';
import { gradCheck, random } from './gradcheck.js';

const B = 2;
const T = 3;
const V = 5;
const targets = [4, 0, -100, 2, 2, 1];
const mask = [1, 1, 0, 1, 0, 1];
const teacher = (() => {
  const r = random(9);
  const rows: number[] = [];
  for (let p = 0; p < B * T; p++) {
    const row = Array.from({ length: V }, (_, v) => (v === 1 ? 0 : r(0.1, 1))); // a zero teacher probability
    const s = row.reduce((a, b) => a + b, 0);
    rows.push(...row.map((x) => x / s));
  }
  return rows;
})();

const specs = {
  logits: { shape: [B, T, V], range: [-3, 3] as [number, number] },
  targets: { shape: [B, T], dtype: 'int64' as const, values: targets },
  mask: { shape: [B, T], noGrad: true, values: mask },
  teacher: { shape: [B, T, V], noGrad: true, values: teacher },
};

describe('losses: gradients vs float64 central differences', () => {
  it('masked token cross-entropy', async () => {
    const { relErrors } = await gradCheck([specs.logits, specs.targets, specs.mask], tokenCrossEntropy);
    expect(relErrors[0]).toBeLessThan(1e-6);
  });

  it('temperature KL against teacher probabilities (T = 2)', async () => {
    const { relErrors } = await gradCheck([specs.logits, specs.teacher, specs.mask], (z, q, m) =>
      distillationKl(z, q, m, 2),
    );
    expect(relErrors[0]).toBeLessThan(1e-6);
  });

  it('MSE against given hidden states', async () => {
    const { relErrors } = await gradCheck(
      [{ shape: [B, T, 4] }, { shape: [B, T, 4], noGrad: true }, specs.mask],
      hiddenMse,
    );
    expect(relErrors[0]).toBeLessThan(1e-6);
  });

  it('weighted sum CE + lambda (KL + MSE)', async () => {
    const { relErrors } = await gradCheck([specs.logits, specs.targets, specs.mask, specs.teacher], (z, t, m, q) =>
      weightedSum([
        { loss: tokenCrossEntropy(z, t, m), weight: 1 },
        { loss: distillationKl(z, q, m, 1.5), weight: 0.7 },
        { loss: hiddenMse(z, q, m), weight: 0.7 },
      ]),
    );
    expect(relErrors[0]).toBeLessThan(1e-6);
  });
});

describe('losses: values', () => {
  it('cross-entropy equals the masked mean of -log softmax at the targets; KL and MSE match direct sums', async () => {
    const r = random(4);
    const z = Array.from({ length: B * T * V }, () => r(-3, 3));
    const h = Array.from({ length: B * T * V }, () => r());
    const g = new Graph();
    const zt = g.input('z', 'float64', [B, T, V]);
    const tt = g.input('t', 'int64', [B, T]);
    const mt = g.input('m', 'float64', [B, T]);
    const qt = g.input('q', 'float64', [B, T, V]);
    const ht = g.input('h', 'float64', [B, T, V]);
    const ce = tokenCrossEntropy(zt, tt, mt);
    const kl = distillationKl(zt, qt, mt, 2);
    const mse = hiddenMse(ht, qt, mt);
    const [dz] = gradients(ce, [zt]);
    const model = serialize(g, [
      { name: 'ce', tensor: ce },
      { name: 'kl', tensor: kl },
      { name: 'mse', tensor: mse },
      { name: 'dz', tensor: dz! },
    ]);
    // The fused backward: one scatter of one value per position, no one-hot over the vocabulary.
    expect(model.stats.ops['ScatterElements']).toBe(1);
    for (const forbidden of ['ScatterND', 'OneHot']) expect(model.stats.ops[forbidden]).toBeUndefined();
    const session = await createSession(model);
    const f64 = (v: number[], shape: number[]) => new ort.Tensor('float64', Float64Array.from(v), shape);
    const out = await session.run({
      z: f64(z, [B, T, V]),
      t: new ort.Tensor('int64', BigInt64Array.from(targets.map(BigInt)), [B, T]),
      m: f64(mask, [B, T]),
      q: f64(teacher, [B, T, V]),
      h: f64(h, [B, T, V]),
    });
    let ceSum = 0;
    let klSum = 0;
    let mseSum = 0;
    for (let p = 0; p < B * T; p++) {
      if (!mask[p]) continue;
      const row = z.slice(p * V, p * V + V);
      const lse = Math.log(row.reduce((a, x) => a + Math.exp(x), 0));
      ceSum += lse - row[targets[p]!]!;
      const lseT = Math.log(row.reduce((a, x) => a + Math.exp(x / 2), 0));
      for (let v = 0; v < V; v++) {
        const q = teacher[p * V + v]!;
        if (q > 0) klSum += q * (Math.log(q) - (row[v]! / 2 - lseT));
        mseSum += (h[p * V + v]! - q) ** 2;
      }
    }
    const count = mask.reduce((a, b) => a + b, 0);
    expect(Number(out['ce']!.data[0])).toBeCloseTo(ceSum / count, 12);
    expect(Number(out['kl']!.data[0])).toBeCloseTo((4 * klSum) / count, 12);
    expect(Number(out['mse']!.data[0])).toBeCloseTo(mseSum / count / V, 12);
    await session.release();
  });
});

describe('loss positions', () => {
  it('maskPositions lists the flat indices where a (batch, tokens) mask is set, in order, and none for an empty mask', async () => {
    const g = new Graph();
    const m = g.input('m', 'float32', ['batch', 'tokens']);
    const model = serialize(g, [{ name: 'p', tensor: maskPositions(m) }]);
    const session = await createSession(model);
    const run = async (mask: number[], shape: number[]) => {
      const out = await session.run({ m: new ort.Tensor('float32', Float32Array.from(mask), shape) });
      return [...(out['p']!.data as BigInt64Array)].map(Number);
    };
    expect(await run([0, 0, 1, 1, 0, 0, 0, 1, 0, 1], [2, 5])).toEqual([2, 3, 7, 9]);
    expect(await run([0, 0, 0], [1, 3])).toEqual([]);
    await session.release();
  });
});
