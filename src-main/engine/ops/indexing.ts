/**
 * Indexing ops: Gather (with its scatter-add gradient), GatherElements, Arange.
 */
import type { OpDef, Tensor } from '../graph.js';
import { typedArray } from '../numeric.js';
import { i64, int, normAxis, single } from './common.js';

// ---------------------------------------------------------------------------------------------
// indexing
// ---------------------------------------------------------------------------------------------

export const GatherOp: OpDef<{ axis: number }> = {
  name: 'Gather',
  infer: ([data, idx], { axis }) => [
    { dtype: data!.dtype, shape: [...data!.shape.slice(0, axis), ...idx!.shape, ...data!.shape.slice(axis + 1)] },
  ],
  emit: (e, n, i, o) => e.node('Gather', i, o, { axis: int(n.attrs.axis) }),
  vjp: ([g], n, needs) => {
    if (!g || !needs[0]) return [undefined, undefined];
    if (n.attrs.axis !== 0) throw new Error('Gather gradient: only axis 0 (embedding lookup) is supported');
    return [single(g.graph.apply(GatherGradOp, [g, n.inputs[1]!, n.inputs[0]!], {})), undefined];
  },
};
/** data.take(indices, axis) (ONNX Gather). */
export function gather(data: Tensor, indices: Tensor, axis = 0): Tensor {
  return single(data.graph.apply(GatherOp, [data, indices], { axis: normAxis(axis, data.rank, 'Gather') }));
}

/** dData of Gather(axis 0): scatter-add G's rows into zeros shaped like data (ONNX ScatterND, reduction add). */
export const GatherGradOp: OpDef = {
  name: 'GatherGrad',
  infer: ([g, , data]) => [{ dtype: g!.dtype, shape: data!.shape }],
  emit: (e, n, i, o) => {
    const [g, idx, data] = i as [string, string, string];
    const dtype = n.inputs[0]!.dtype;
    const shape = e.tmp('shape');
    const zeros = e.tmp('zeros');
    const idx1 = e.tmp('idx');
    e.node('Shape', [data], [shape]);
    e.node('Expand', [e.constant(typedArray(dtype, [0]), dtype, []), shape], [zeros]);
    e.node('Unsqueeze', [idx, i64(e, [-1])], [idx1]);
    e.node('ScatterND', [zeros, idx1, g], o, { reduction: { s: 'add' } });
  },
  vjp: ([g], n, needs) => [needs[0] && g ? gather(g, n.inputs[1]!, 0) : undefined, undefined, undefined],
};

/** Picks along `axis` with an index tensor of the same rank (ONNX GatherElements); no gradient to data. */
export const GatherElementsOp: OpDef<{ axis: number }> = {
  name: 'GatherElements',
  infer: ([data, idx]) => [{ dtype: data!.dtype, shape: idx!.shape }],
  emit: (e, n, i, o) => e.node('GatherElements', i, o, { axis: int(n.attrs.axis) }),
};
export function gatherElements(data: Tensor, indices: Tensor, axis: number): Tensor {
  return single(
    data.graph.apply(GatherElementsOp, [data, indices], { axis: normAxis(axis, data.rank, 'GatherElements') }),
  );
}

/** 0, 1, ..., n-1 where n is x's size along `axis` at run time (int64). */
export const ArangeOp: OpDef<{ axis: number }> = {
  name: 'Arange',
  infer: ([x], { axis }) => [{ dtype: 'int64', shape: [x!.shape[axis]!] }],
  emit: (e, n, i, o) => {
    const s = e.tmp('shape');
    const d = e.tmp('dim');
    e.node('Shape', [i[0]!], [s], { start: int(n.attrs.axis), end: int(n.attrs.axis + 1) });
    e.node('Squeeze', [s, i64(e, [0])], [d]);
    const zero = e.constant(typedArray('int64', [0]), 'int64', []);
    const one = e.constant(typedArray('int64', [1]), 'int64', []);
    e.node('Range', [zero, d, one], o);
  },
};
export function arangeOf(x: Tensor, axis: number): Tensor {
  return single(x.graph.apply(ArangeOp, [x], { axis: normAxis(axis, x.rank, 'Arange') }));
}
