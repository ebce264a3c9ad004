/**
 * Gradient checking against central finite differences, run by onnxruntime: the analytic gradients
 * come from our VJPs (one session), the numeric ones from evaluating the same loss with each input
 * element nudged by +-eps. Float64 graphs make the differences meaningful (float32 differences
 * are rounding noise).
 *
 * The checked scalar is L = sum(f(inputs) * R) with a fixed random R, so every output element
 * contributes with a different weight.
 */
import { gradients } from '../../../src-main/engine/autodiff.js';
import type { DType } from '../../../src-main/engine/dtype.js';
import { staticSize } from '../../../src-main/engine/dtype.js';
import type { Tensor } from '../../../src-main/engine/graph.js';
import { Graph } from '../../../src-main/engine/graph.js';
import { typedArray } from '../../../src-main/engine/numeric.js';
import { mul, reduceSum } from '../../../src-main/engine/ops.js';
import { serialize } from '../../../src-main/engine/serialize.js';
import { createSession, ort } from '../../../src-main/engine/session.js';

/** Deterministic uniform random numbers in [lo, hi) (mulberry32). */
export function random(seed: number): (lo?: number, hi?: number) => number {
  let a = seed >>> 0;
  return (lo = -1, hi = 1) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  };
}

export interface InputSpec {
  readonly shape: readonly number[];
  /** Value range of the random entries (default [-1, 1)). */
  readonly range?: readonly [number, number];
  /** Fixed values instead of random ones. */
  readonly values?: readonly number[];
  readonly dtype?: DType;
  /** Not differentiated (e.g. a condition). */
  readonly noGrad?: boolean;
}

export interface GradCheckResult {
  /** Norm-wise relative error ||analytic - numeric|| / max(||analytic||, ||numeric||), per input. */
  readonly relErrors: number[];
  readonly analytic: number[][];
  readonly numeric: number[][];
}

export async function gradCheck(
  specs: readonly InputSpec[],
  f: (...xs: Tensor[]) => Tensor,
  { dtype = 'float64' as DType, eps = 1e-6, seed = 1 } = {},
): Promise<GradCheckResult> {
  const rand = random(seed);
  const g = new Graph();
  const xs = specs.map((s, k) => g.input(`x${k}`, s.dtype ?? dtype, s.shape));
  const values = specs.map(
    (s) => s.values ?? Array.from({ length: staticSize(s.shape)! }, () => rand(...(s.range ?? [-1, 1]))),
  );
  const y = f(...xs);
  const weights = Array.from({ length: staticSize(y.shape)! }, () => rand());
  const yShape = y.shape as number[];
  const r = g.constant(typedArray(y.dtype, weights), y.dtype, yShape);
  const loss = reduceSum(mul(y, r), [...Array(y.rank).keys()]);
  const differentiated = (k: number): boolean => !specs[k]!.noGrad && !specs[k]!.dtype;
  const wrt = xs.filter((_, k) => differentiated(k));
  const grads = gradients(loss, wrt);
  const model = serialize(g, [
    { name: 'loss', tensor: loss },
    ...grads.map((t, k) => ({ name: `grad${k}`, tensor: t })),
  ]);
  const lossOnly = serialize(g, [{ name: 'loss', tensor: loss }]);
  // 'basic': the 'extended' level fuses x * sigmoid(x) into QuickGelu, which has no float64 kernel.
  const opts = { optimization: 'basic' } as const;
  const [full, fwd] = await Promise.all([createSession(model, opts), createSession(lossOnly, opts)]);

  const feeds = (vals: readonly (readonly number[])[]): Record<string, ort.Tensor> =>
    Object.fromEntries(
      xs.map((x, k) => [
        x.name,
        new ort.Tensor(x.dtype, typedArray(x.dtype, vals[k]!) as Float64Array, specs[k]!.shape),
      ]),
    );
  const out = await full.run(feeds(values));
  const analytic = grads.map((_, k) => Array.from(out[`grad${k}`]!.data as Float64Array, Number));

  const numeric: number[][] = [];
  for (const k of xs.keys()) {
    if (!differentiated(k)) continue;
    const col: number[] = [];
    for (let j = 0; j < values[k]!.length; j++) {
      const at = async (delta: number): Promise<number> => {
        const nudged = values.map((v, i) => (i === k ? v.map((e, jj) => (jj === j ? e + delta : e)) : v));
        return Number((await fwd.run(feeds(nudged)))['loss']!.data[0]);
      };
      col.push(((await at(eps)) - (await at(-eps))) / (2 * eps));
    }
    numeric.push(col);
  }
  await Promise.all([full.release(), fwd.release()]);
  const relErrors = analytic.map((a, k) => {
    const n = numeric[k]!;
    let diff = 0;
    let na = 0;
    let nn = 0;
    a.forEach((v, j) => {
      diff += (v - n[j]!) ** 2;
      na += v * v;
      nn += n[j]! ** 2;
    });
    return Math.sqrt(diff) / Math.max(Math.sqrt(na), Math.sqrt(nn), 1e-30);
  });
  return { relErrors, analytic, numeric };
}
