/**
 * Softmax, LogSoftmax and the reductions (opset 18: axes are an int64 input).
 */
import type { DType, Dim } from '../dtype.js';
import { staticSize } from '../dtype.js';
import type { OpDef, Tensor } from '../graph.js';
import { typedArray } from '../numeric.js';
import { i64, int, normAxis, same, single } from './common.js';
import { cast, div, equal, exp, mul, sub } from './elementwise.js';
import { expandLike, shapeOf, unsqueeze } from './shape.js';
import { gather } from './indexing.js';

// ---------------------------------------------------------------------------------------------
// Softmax, LogSoftmax
// ---------------------------------------------------------------------------------------------

export const SoftmaxOp: OpDef<{ axis: number }> = {
  name: 'Softmax',
  infer: ([x]) => same(x!),
  emit: (e, n, i, o) => e.node('Softmax', i, o, { axis: int(n.attrs.axis) }),
  vjp: ([g], n) => {
    if (!g) return [undefined];
    const y = n.outputs[0]!;
    const gy = mul(g, y);
    return [sub(gy, mul(y, reduceSum(gy, [n.attrs.axis], true)))];
  },
};
export const LogSoftmaxOp: OpDef<{ axis: number }> = {
  name: 'LogSoftmax',
  infer: ([x]) => same(x!),
  emit: (e, n, i, o) => e.node('LogSoftmax', i, o, { axis: int(n.attrs.axis) }),
  vjp: ([g], n) => (g ? [sub(g, mul(exp(n.outputs[0]!), reduceSum(g, [n.attrs.axis], true)))] : [undefined]),
};
export function softmax(x: Tensor, axis = -1): Tensor {
  return single(x.graph.apply(SoftmaxOp, [x], { axis: normAxis(axis, x.rank, 'Softmax') }));
}
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return single(x.graph.apply(LogSoftmaxOp, [x], { axis: normAxis(axis, x.rank, 'LogSoftmax') }));
}

// ---------------------------------------------------------------------------------------------
// reductions (opset 18: axes are an int64 input)
// ---------------------------------------------------------------------------------------------

interface ReduceAttrs {
  axes: number[];
  keepdims: boolean;
}

function reduceShape(x: Tensor, { axes, keepdims }: ReduceAttrs): Dim[] {
  const out: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

function reduceOp(
  name: string,
  vjp: (g: Tensor, x: Tensor, y: Tensor, attrs: ReduceAttrs) => Tensor,
): OpDef<ReduceAttrs> {
  return {
    name,
    infer: ([x], attrs) => [{ dtype: x!.dtype, shape: reduceShape(x!, attrs) }],
    emit: (e, n, i, o) => e.node(name, [i[0]!, i64(e, n.attrs.axes)], o, { keepdims: int(+n.attrs.keepdims) }),
    vjp: ([g], n) => {
      if (!g) return [undefined];
      const x = n.inputs[0]!;
      const attrs = n.attrs;
      const keep = (t: Tensor): Tensor => (attrs.keepdims ? t : unsqueeze(t, attrs.axes));
      return [vjp(keep(g), x, keep(n.outputs[0]!), attrs)];
    },
  };
}
export const ReduceSumOp = reduceOp('ReduceSum', (g, x) => expandLike(g, x));
export const ReduceMeanOp = reduceOp('ReduceMean', (g, x, _y, { axes }) =>
  expandLike(div(g, dimsProduct(x, axes, g.dtype)), x),
);
// The gradient goes to every position that attains the maximum.
export const ReduceMaxOp = reduceOp('ReduceMax', (g, x, y) => mul(expandLike(g, x), cast(equal(x, y), g.dtype)));

function reduce(op: OpDef<ReduceAttrs>, x: Tensor, axes: readonly number[], keepdims: boolean): Tensor {
  const norm = [...new Set(axes.map((a) => normAxis(a, x.rank, op.name)))].sort((p, q) => p - q);
  return single(x.graph.apply(op, [x], { axes: norm, keepdims }));
}
export const reduceSum = (x: Tensor, axes: readonly number[], keepdims = false): Tensor =>
  reduce(ReduceSumOp, x, axes, keepdims);
export const reduceMean = (x: Tensor, axes: readonly number[], keepdims = false): Tensor =>
  reduce(ReduceMeanOp, x, axes, keepdims);
export const reduceMax = (x: Tensor, axes: readonly number[], keepdims = false): Tensor =>
  reduce(ReduceMaxOp, x, axes, keepdims);

/** Number of elements along `axes` of x as a scalar of `dtype` (a constant when the dims are known). */
export function dimsProduct(x: Tensor, axes: readonly number[], dtype: DType): Tensor {
  const dims = axes.map((a) => x.shape[a]!);
  const known = staticSize(dims);
  if (known !== undefined) return x.graph.constant(typedArray(dtype, [known]), dtype, []);
  const sizes = gather(shapeOf(x), x.graph.constant(typedArray('int64', axes), 'int64', [axes.length]), 0);
  return cast(single(x.graph.apply(ReduceProdIntOp, [sizes], {})), dtype);
}
export const ReduceProdIntOp: OpDef = {
  name: 'ReduceProd',
  infer: ([x]) => [{ dtype: x!.dtype, shape: [] }],
  emit: (e, _n, i, o) => e.node('ReduceProd', i, o, { keepdims: int(0) }),
};
