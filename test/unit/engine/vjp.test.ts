/**
 * Every VJP rule against float64 central finite differences (relative error < 1e-6), executed by
 * onnxruntime's CPU provider. Broadcast operands exercise the walker's un-broadcasting, and
 * reused inputs its fan-out accumulation.
 *
 * Ops without a float64 CPU kernel in onnxruntime 1.30 are checked the nearest way:
 * - Erf: emitted as float32 inside float64 graphs, so differences carry float32 rounding; checked
 *   with float32-level tolerance, plus its float64 VJP against the closed form.
 * - FusedMatMul (transA/transB/alpha): float32 only; float64 graphs emit Transpose + MatMul + Mul,
 *   which the float64 checks cover, and the float32 FusedMatMul path is compared with them.
 * - Cast: a float64 -> float32 -> float64 round trip, so float32-level tolerance.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../../src-main/engine/graph.js';
import type { Graph } from '../../../src-main/engine/graph.js';
import * as op from '../../../src-main/engine/ops.js';
import type { InputSpec } from './gradcheck.js';
import { gradCheck } from './gradcheck.js';

type Case = [name: string, specs: InputSpec[], f: (...xs: Tensor[]) => Tensor];
const pos: [number, number] = [0.5, 2];

const idx = (g: Graph, values: number[]): Tensor =>
  g.constant(BigInt64Array.from(values.map(BigInt)), 'int64', [values.length]);

const CASES: Case[] = [
  ['Add (broadcast [3,4] + [4])', [{ shape: [3, 4] }, { shape: [4] }], op.add],
  ['Sub (broadcast [2,3,4] - [3,1])', [{ shape: [2, 3, 4] }, { shape: [3, 1] }], op.sub],
  ['Mul (broadcast [3,4] * [1,4])', [{ shape: [3, 4] }, { shape: [1, 4] }], op.mul],
  ['Div', [{ shape: [3, 4] }, { shape: [3, 4], range: pos }], op.div],
  ['Pow (both operands)', [{ shape: [3, 4], range: pos }, { shape: [4] }], op.pow],
  ['Max', [{ shape: [3, 4] }, { shape: [3, 4] }], op.max],
  ['Min (broadcast)', [{ shape: [3, 4] }, { shape: [4] }], op.min],
  ['Neg', [{ shape: [5] }], op.neg],
  ['Exp', [{ shape: [5] }], op.exp],
  ['Log', [{ shape: [5], range: pos }], op.log],
  ['Sqrt', [{ shape: [5], range: pos }], op.sqrt],
  ['Reciprocal', [{ shape: [5], range: pos }], op.reciprocal],
  ['Sigmoid', [{ shape: [5] }], op.sigmoid],
  ['Tanh', [{ shape: [5] }], op.tanh],
  ['Sin', [{ shape: [5] }], op.sin],
  ['Cos', [{ shape: [5] }], op.cos],
  ['Identity', [{ shape: [5] }], op.identity],
  ['Softmax (last axis)', [{ shape: [3, 5] }], (x) => op.softmax(x, -1)],
  ['Softmax (axis 0)', [{ shape: [3, 5] }], (x) => op.softmax(x, 0)],
  ['LogSoftmax', [{ shape: [3, 5] }], (x) => op.logSoftmax(x, -1)],
  ['ReduceSum (axis 1)', [{ shape: [2, 3, 4] }], (x) => op.reduceSum(x, [1])],
  ['ReduceSum (keepdims, two axes)', [{ shape: [2, 3, 4] }], (x) => op.reduceSum(x, [0, 2], true)],
  ['ReduceMean', [{ shape: [2, 3, 4] }], (x) => op.reduceMean(x, [-1])],
  ['ReduceMax', [{ shape: [3, 4] }], (x) => op.reduceMax(x, [1])],
  ['MatMul (batched [2,3,4] @ [2,4,5])', [{ shape: [2, 3, 4] }, { shape: [2, 4, 5] }], (a, b) => op.matmul(a, b)],
  ['MatMul (batch broadcast [2,3,4] @ [4,5])', [{ shape: [2, 3, 4] }, { shape: [4, 5] }], (a, b) => op.matmul(a, b)],
  [
    'MatMul transB + alpha (weight [5,4])',
    [{ shape: [2, 3, 4] }, { shape: [5, 4] }],
    (a, b) => op.matmul(a, b, { transB: true, alpha: 0.7 }),
  ],
  ['MatMul transA', [{ shape: [2, 4, 3] }, { shape: [2, 4, 5] }], (a, b) => op.matmul(a, b, { transA: true })],
  [
    'MatMul transA + transB',
    [{ shape: [4, 3] }, { shape: [5, 4] }],
    (a, b) => op.matmul(a, b, { transA: true, transB: true, alpha: -1.5 }),
  ],
  [
    'Gemm (transB, C broadcast)',
    [{ shape: [3, 4] }, { shape: [5, 4] }, { shape: [5] }],
    (a, b, c) => op.gemm(a, b, c, { transB: true, alpha: 0.5, beta: 2 }),
  ],
  ['Gemm (transA)', [{ shape: [4, 3] }, { shape: [4, 5] }], (a, b) => op.gemm(a, b, undefined, { transA: true })],
  ['Reshape', [{ shape: [2, 6] }], (x) => op.mul(op.reshape(x, [3, 4]), op.reshape(x, [3, -1]))],
  ['Transpose', [{ shape: [2, 3, 4] }], (x) => op.transpose(x, [2, 0, 1])],
  [
    'Concat (3 inputs)',
    [{ shape: [2, 1] }, { shape: [2, 3] }, { shape: [2, 2] }],
    (a, b, c) => op.concat([a, b, c], 1),
  ],
  [
    'Split (all outputs used)',
    [{ shape: [2, 5] }],
    (x) => {
      const [a, b] = op.split(x, [2, 3], 1);
      return op.concat([op.exp(b!), op.sin(a!)], 1);
    },
  ],
  ['Split (one output used)', [{ shape: [5, 2] }], (x) => op.split(x, [2, 3], 0)[1]!],
  ['Slice (middle)', [{ shape: [3, 6] }], (x) => op.slice(x, [1, 2], [3, 5], [0, 1])],
  ['Slice (to the end)', [{ shape: [3, 6] }], (x) => op.slice(x, [2], [op.TO_END], [1])],
  ['Pad', [{ shape: [2, 3] }], (x) => op.pad(x, [1, 0, 2, 1])],
  ['Gather (axis 0, repeated indices)', [{ shape: [4, 3] }], (x) => op.gather(x, idx(x.graph, [2, 0, 2, 3]))],
  [
    'Unsqueeze + Squeeze',
    [{ shape: [3, 4] }],
    (x) => op.mul(op.unsqueeze(x, [0, 2]), op.squeeze(op.unsqueeze(x, [1]), [1])),
  ],
  ['Expand', [{ shape: [3, 1] }], (x) => op.expand(x, [2, 3, 4])],
  ['ExpandLike (to a runtime shape)', [{ shape: [3, 1] }, { shape: [2, 3, 4], noGrad: true }], op.expandLike],
  ['ReshapeLike (to a runtime shape)', [{ shape: [2, 6] }, { shape: [3, 4], noGrad: true }], op.reshapeLike],
  [
    'GatherGrad (scatter-add of rows, repeated indices)',
    [{ shape: [4, 3] }, { shape: [5, 3], noGrad: true }],
    (g, data) => op.single(g.graph.apply(op.GatherGradOp, [g, idx(g.graph, [2, 0, 2, 3]), data], {})),
  ],
  [
    'ExpandBatch (prompt over the batch)',
    [{ shape: [1, 2, 3] }, { shape: [4, 1], noGrad: true }],
    (x, ref) => op.expandBatch(x, ref),
  ],
  [
    'Where (both branches)',
    [{ shape: [3, 4], noGrad: true }, { shape: [3, 4] }, { shape: [4] }],
    (c, a, b) => op.where(op.greater(c, 0), a, b),
  ],
  ['Clip', [{ shape: [12], range: [-2, 2] }], (x) => op.clip(x, -0.9, 1.1)],
  ['fan-out: x*x + sin(x) + x', [{ shape: [3, 3] }], (x) => op.add(op.add(op.mul(x, x), op.sin(x)), x)],
];

/** Ops that take no gradient, and why. Any other op needs a VJP rule and a check above. */
const NO_GRADIENT: Readonly<Record<string, string>> = {
  Equal: 'bool output',
  Less: 'bool output',
  LessOrEqual: 'bool output',
  Greater: 'bool output',
  GreaterOrEqual: 'bool output',
  And: 'bool output',
  Or: 'bool output',
  Shape: 'int64 output',
  Arange: 'int64 output',
  MaskPositions: 'int64 output',
  ReduceProd: 'int64 sizes only',
  GatherElements: 'picks values at label positions; no gradient to data by design',
};

/** The ops a check names: its title up to the first " (", split at " + ". */
const checkedOps = new Set([
  ...CASES.flatMap(([title]) => title.split(' (')[0]!.split(' + ')),
  'Erf', // float32 kernel: its own tests below
  'Cast', // round trip: its own test below
]);

describe('op table', () => {
  it('every op has a VJP rule and a gradient check named after it, or is listed as taking no gradient', () => {
    expect(op.OPS.length).toBeGreaterThan(40);
    const names = op.OPS.map((def) => def.name);
    expect(new Set(names).size, 'op names are unique').toBe(names.length);
    for (const def of op.OPS) {
      if (Object.hasOwn(NO_GRADIENT, def.name)) {
        expect(def.vjp, `${def.name} is listed as taking no gradient`).toBeUndefined();
        continue;
      }
      expect(def.vjp, def.name).toBeTypeOf('function');
      expect(checkedOps.has(def.name), `${def.name} has no gradient check`).toBe(true);
    }
  });
});

describe('VJP rules vs float64 central differences', () => {
  for (const [name, specs, f] of CASES)
    it(name, async () => {
      const { relErrors } = await gradCheck(specs, f);
      for (const e of relErrors) expect(e).toBeLessThan(1e-6);
    });

  it('Erf (float32 kernel inside a float64 graph; float32-level tolerance)', async () => {
    const { relErrors } = await gradCheck([{ shape: [6], range: [-2, 2] }], op.erf, { eps: 1e-3 });
    expect(relErrors[0]).toBeLessThan(1e-4);
  });

  it('Erf VJP in float64 equals 2/sqrt(pi) exp(-x^2) (closed form)', async () => {
    const xs = [-1.5, -0.2, 0, 0.7, 2.2];
    const { analytic } = await gradCheck([{ shape: [5], values: xs }], (x) => op.erf(x), { seed: 3 });
    // The same seed draws the same weights R (inputs are fixed); d/dx sum(x * R) = R.
    const { analytic: r } = await gradCheck([{ shape: [5], values: xs }], (x) => op.identity(x), { seed: 3 });
    xs.forEach((x, j) => {
      const expected = r[0]![j]! * (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x);
      expect(Math.abs(analytic[0]![j]! - expected)).toBeLessThan(1e-12);
    });
  });

  it('Cast (float64 -> float32 -> float64 round trip; float32-level tolerance)', async () => {
    const { relErrors } = await gradCheck(
      [{ shape: [5] }],
      (x) => op.mul(op.cast(op.cast(x, 'float32'), 'float64'), x),
      {
        eps: 1e-3,
      },
    );
    expect(relErrors[0]).toBeLessThan(1e-4);
  });
});

describe('FusedMatMul (float32 kernel) matches the float64 Transpose + MatMul path', () => {
  for (const [transA, transB] of [
    [false, true],
    [true, false],
    [true, true],
  ] as const)
    it(`transA=${transA} transB=${transB}`, async () => {
      const aShape = transA ? [2, 4, 3] : [2, 3, 4];
      const bShape = transB ? [5, 4] : [4, 5];
      const f = (a: Tensor, b: Tensor): Tensor => op.matmul(a, b, { transA, transB, alpha: 0.3 });
      const specs = [{ shape: aShape }, { shape: bShape }];
      const fused = await gradCheck(specs, f, { dtype: 'float32', eps: 1e-2, seed: 5 });
      const exact = await gradCheck(specs, f, { seed: 5 });
      for (const k of [0, 1]) {
        const a = fused.analytic[k]!;
        const b = exact.analytic[k]!;
        const err = Math.hypot(...a.map((v, j) => v - b[j]!)) / Math.hypot(...b);
        expect(err).toBeLessThan(1e-5);
      }
    });
});
