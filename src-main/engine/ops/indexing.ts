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

/**
 * dData of Gather(axis 0): scatter-add G's rows into zeros shaped like data. ONNX ScatterElements
 * (reduction add) over G flattened to rows, with each row's index repeated across the row. In a
 * one-op benchmark (32000 x 512, 256 rows, no memory arena) it took 470 ms to ScatterND's 590; most
 * of either is the page faults of a fresh output the size of the embedding.
 */
export const GatherGradOp: OpDef = {
  name: 'GatherGrad',
  infer: ([g, , data]) => [{ dtype: g!.dtype, shape: data!.shape }],
  emit: (e, n, i, o) => {
    const [g, idx, data] = i as [string, string, string];
    const dtype = n.inputs[0]!.dtype;
    const rowRank = n.inputs[2]!.rank - 1;
    const [shape, rowShape, rowsShape, zeros, rows, updatesShape, idxColumn, rowIdx] = [
      'shape',
      'row_shape',
      'rows_shape',
      'zeros',
      'rows',
      'updates_shape',
      'idx',
      'row_idx',
    ].map((t) => e.tmp(t)) as [string, string, string, string, string, string, string, string];
    e.node('Shape', [data], [shape]);
    e.node('Expand', [e.constant(typedArray(dtype, [0]), dtype, []), shape], [zeros]);
    e.node('Shape', [data], [rowShape], { start: int(1) });
    e.node('Concat', [i64(e, [-1]), rowShape], [rowsShape], { axis: int(0) });
    e.node('Reshape', [g, rowsShape], [rows]);
    e.node('Reshape', [idx, i64(e, [-1, ...Array<number>(rowRank).fill(1)])], [idxColumn]);
    e.node('Shape', [rows], [updatesShape]);
    e.node('Expand', [idxColumn, updatesShape], [rowIdx]);
    e.node('ScatterElements', [zeros, rowIdx, rows], o, { axis: int(0), reduction: { s: 'add' } });
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

/**
 * The flat indices (int64, [positions]) of a mask's non-zero entries, in order (ONNX NonZero over
 * the flattened mask). Training uses it to compute the LM head only where a loss is counted.
 */
export const MaskPositionsOp: OpDef = {
  name: 'MaskPositions',
  infer: () => [{ dtype: 'int64', shape: ['positions'] }],
  emit: (e, _n, i, o) => {
    const [flat, counted, nonZero] = [e.tmp('flat'), e.tmp('counted'), e.tmp('nonzero')];
    e.node('Reshape', [i[0]!, i64(e, [-1])], [flat]);
    e.node('Cast', [flat], [counted], { to: int(9) }); // bool: true where the mask is not 0
    e.node('NonZero', [counted], [nonZero]);
    e.node('Squeeze', [nonZero, i64(e, [0])], o);
  },
};
export function maskPositions(mask: Tensor): Tensor {
  return single(mask.graph.apply(MaskPositionsOp, [mask], {}));
}
