/**
 * Shape ops: Shape, Reshape, Expand, Transpose, Unsqueeze/Squeeze, Concat, Split, Slice, Pad.
 */
import type { Dim } from '../dtype.js';
import { broadcastShapes, shapeToString, staticSize } from '../dtype.js';
import type { OpDef, Tensor } from '../graph.js';
import { dimMinus, dimSum, i64, int, ints, normAxis, scalar, single, TO_END } from './common.js';

// ---------------------------------------------------------------------------------------------
// shape ops
// ---------------------------------------------------------------------------------------------

export const ShapeOp: OpDef = {
  name: 'Shape',
  infer: ([x]) => [{ dtype: 'int64', shape: [x!.rank] }],
  emit: (e, _n, i, o) => e.node('Shape', i, o),
};
export const shapeOf = (x: Tensor): Tensor => single(x.graph.apply(ShapeOp, [x], {}));

/**
 * Reshape to `dims`: numbers are sizes (-1: inferred), strings name symbolic dims for shape
 * bookkeeping. A symbolic dim at the same index as in the input is copied (ONNX 0); at most one
 * other symbolic or -1 dim is inferred.
 */
export const ReshapeOp: OpDef<{ dims: Dim[]; onnx: number[] }> = {
  name: 'Reshape',
  infer: (_i, { dims }) => [{ dtype: _i[0]!.dtype, shape: dims }],
  emit: (e, n, i, o) => e.node('Reshape', [i[0]!, i64(e, n.attrs.onnx)], o),
  vjp: ([g], n) => [g && reshapeLike(g, n.inputs[0]!)],
};
let anonymousDims = 0;
export function reshape(x: Tensor, dims: readonly Dim[]): Tensor {
  const onnx: number[] = [];
  const shape: Dim[] = [];
  let inferred = -1;
  dims.forEach((d, i) => {
    if (typeof d === 'number' && d > 0) {
      onnx.push(d);
      shape.push(d);
    } else if (typeof d === 'string' && x.shape[i] === d) {
      onnx.push(0);
      shape.push(d);
    } else {
      if (inferred >= 0) throw new Error(`Reshape ${x} -> ${shapeToString(dims)}: more than one dim to infer`);
      inferred = i;
      onnx.push(-1);
      shape.push(d);
    }
  });
  if (inferred >= 0 && shape[inferred] === -1) {
    const total = staticSize(x.shape);
    const rest = staticSize(shape.filter((_, i) => i !== inferred));
    shape[inferred] = total !== undefined && rest !== undefined ? total / rest : `_d${++anonymousDims}`;
  }
  return single(x.graph.apply(ReshapeOp, [x], { dims: shape, onnx }));
}

export const ReshapeLikeOp: OpDef = {
  name: 'ReshapeLike',
  infer: ([x, ref]) => [{ dtype: x!.dtype, shape: ref!.shape }],
  emit: (e, _n, i, o) => {
    const s = e.tmp('shape');
    e.node('Shape', [i[1]!], [s]);
    e.node('Reshape', [i[0]!, s], o);
  },
  vjp: ([g], n, needs) => [g && needs[0] ? reshapeLike(g, n.inputs[0]!) : undefined, undefined],
};
/** Reshape x to ref's (runtime) shape. */
export function reshapeLike(x: Tensor, ref: Tensor): Tensor {
  return single(x.graph.apply(ReshapeLikeOp, [x, ref], {}));
}

export const ExpandLikeOp: OpDef = {
  name: 'ExpandLike',
  infer: ([x, ref]) => [{ dtype: x!.dtype, shape: broadcastShapes(x!.shape, ref!.shape, 'Expand') }],
  emit: (e, _n, i, o) => {
    const s = e.tmp('shape');
    e.node('Shape', [i[1]!], [s]);
    e.node('Expand', [i[0]!, s], o);
  },
  vjp: ([g], _n, needs) => [needs[0] ? g : undefined, undefined],
};
/** Broadcast x to ref's (runtime) shape. */
export function expandLike(x: Tensor, ref: Tensor): Tensor {
  return single(x.graph.apply(ExpandLikeOp, [x, ref], {}));
}

export const ExpandOp: OpDef<{ dims: Dim[] }> = {
  name: 'Expand',
  infer: ([x], { dims }) => [{ dtype: x!.dtype, shape: broadcastShapes(x!.shape, dims, 'Expand') }],
  // Symbolic target dims are emitted as 1: broadcasting keeps x's own (equal) dim there.
  emit: (e, n, i, o) =>
    e.node(
      'Expand',
      [
        i[0]!,
        i64(
          e,
          n.attrs.dims.map((d) => (typeof d === 'number' ? d : 1)),
        ),
      ],
      o,
    ),
  vjp: ([g]) => [g],
};
export function expand(x: Tensor, dims: readonly Dim[]): Tensor {
  const offset = dims.length - x.rank;
  dims.forEach((d, i) => {
    if (typeof d === 'string' && x.shape[i - offset] !== d)
      throw new Error(`Expand ${x} -> ${shapeToString(dims)}: symbolic dim ${d} must already be x's dim`);
  });
  return single(x.graph.apply(ExpandOp, [x], { dims: [...dims] }));
}

export const TransposeOp: OpDef<{ perm: number[] }> = {
  name: 'Transpose',
  infer: ([x], { perm }) => [{ dtype: x!.dtype, shape: perm.map((p) => x!.shape[p]!) }],
  emit: (e, n, i, o) => e.node('Transpose', i, o, { perm: ints(n.attrs.perm) }),
  vjp: ([g], n) => {
    const inverse: number[] = [];
    n.attrs.perm.forEach((p, i) => (inverse[p] = i));
    return [g && transpose(g, inverse)];
  },
};
export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.rank) throw new Error(`Transpose: perm ${perm} does not match ${x}`);
  return single(x.graph.apply(TransposeOp, [x], { perm: [...perm] }));
}

export const UnsqueezeOp: OpDef<{ axes: number[] }> = {
  name: 'Unsqueeze',
  infer: ([x], { axes }) => {
    const out: Dim[] = [...x!.shape];
    for (const a of axes) out.splice(a, 0, 1);
    return [{ dtype: x!.dtype, shape: out }];
  },
  emit: (e, n, i, o) => e.node('Unsqueeze', [i[0]!, i64(e, n.attrs.axes)], o),
  vjp: ([g], n) => [g && squeeze(g, n.attrs.axes)],
};
export function unsqueeze(x: Tensor, axes: readonly number[]): Tensor {
  const rank = x.rank + axes.length;
  const norm = axes.map((a) => normAxis(a, rank, 'Unsqueeze')).sort((p, q) => p - q);
  return single(x.graph.apply(UnsqueezeOp, [x], { axes: norm }));
}

export const SqueezeOp: OpDef<{ axes: number[] }> = {
  name: 'Squeeze',
  infer: ([x], { axes }) => [{ dtype: x!.dtype, shape: x!.shape.filter((_, i) => !axes.includes(i)) }],
  emit: (e, n, i, o) => e.node('Squeeze', [i[0]!, i64(e, n.attrs.axes)], o),
  vjp: ([g], n) => [g && unsqueeze(g, n.attrs.axes)],
};
export function squeeze(x: Tensor, axes: readonly number[]): Tensor {
  const norm = axes.map((a) => normAxis(a, x.rank, 'Squeeze')).sort((p, q) => p - q);
  for (const a of norm) if (x.shape[a] !== 1) throw new Error(`Squeeze: axis ${a} of ${x} is not 1`);
  return single(x.graph.apply(SqueezeOp, [x], { axes: norm }));
}

export const ConcatOp: OpDef<{ axis: number }> = {
  name: 'Concat',
  infer: (xs, { axis }) => {
    const shape = [...xs[0]!.shape];
    shape[axis] = dimSum(xs.map((x) => x.shape[axis]!));
    return [{ dtype: xs[0]!.dtype, shape }];
  },
  emit: (e, n, i, o) => e.node('Concat', i, o, { axis: int(n.attrs.axis) }),
  vjp: ([g], n, needs) => {
    if (!g) return n.inputs.map(() => undefined);
    const axis = n.attrs.axis;
    let offset: number | undefined = 0;
    return n.inputs.map((x, k) => {
      const start = offset;
      const size = x.shape[axis]!;
      offset = offset !== undefined && typeof size === 'number' ? offset + size : undefined;
      if (!needs[k]) return undefined;
      const last = k === n.inputs.length - 1;
      if (start === undefined || (typeof size !== 'number' && !last))
        throw new Error(`Concat gradient: input ${k} (${x}) needs a known offset and size along axis ${axis}`);
      return slice(g, [start], [last ? TO_END : start + (size as number)], [axis]);
    });
  },
};
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  const a = normAxis(axis, xs[0]!.rank, 'Concat');
  return single(xs[0]!.graph.apply(ConcatOp, xs, { axis: a }));
}

export const SplitOp: OpDef<{ axis: number; sizes: number[] }> = {
  name: 'Split',
  infer: ([x], { axis, sizes }) =>
    sizes.map((s) => {
      const shape = [...x!.shape];
      shape[axis] = s;
      return { dtype: x!.dtype, shape };
    }),
  emit: (e, n, i, o) => e.node('Split', [i[0]!, i64(e, n.attrs.sizes)], o, { axis: int(n.attrs.axis) }),
  vjp: (grads, n) => {
    if (grads.every((g) => !g)) return [undefined];
    const parts = n.outputs.map((y, k) => grads[k] ?? zerosLike(y));
    return [concat(parts, n.attrs.axis)];
  },
};
export function split(x: Tensor, sizes: readonly number[], axis: number): Tensor[] {
  const a = normAxis(axis, x.rank, 'Split');
  const dim = x.shape[a];
  if (typeof dim === 'number' && sizes.reduce((p, q) => p + q, 0) !== dim)
    throw new Error(`Split: sizes ${sizes} do not add up to ${x}'s axis ${a}`);
  return x.graph.apply(SplitOp, [x], { axis: a, sizes: [...sizes] });
}

/** Zeros shaped like x at run time. */
export function zerosLike(x: Tensor): Tensor {
  return expandLike(scalar(x, 0), x);
}

interface SliceAttrs {
  starts: number[];
  ends: number[];
  axes: number[];
}
export const SliceOp: OpDef<SliceAttrs> = {
  name: 'Slice',
  infer: ([x], { starts, ends, axes }) => {
    const shape = [...x!.shape];
    axes.forEach((a, k) => {
      const d = shape[a]!;
      const end = ends[k]! >= TO_END ? d : ends[k]!;
      shape[a] =
        typeof end === 'number' ? Math.min(end, typeof d === 'number' ? d : end) - starts[k]! : dimMinus(d, starts[k]!);
    });
    return [{ dtype: x!.dtype, shape }];
  },
  emit: (e, n, i, o) => e.node('Slice', [i[0]!, i64(e, n.attrs.starts), i64(e, n.attrs.ends), i64(e, n.attrs.axes)], o),
  vjp: ([g], n) => {
    if (!g) return [undefined];
    const x = n.inputs[0]!;
    const { starts, ends, axes } = n.attrs;
    const pads = new Array<number>(2 * x.rank).fill(0);
    axes.forEach((a, k) => {
      pads[a] = starts[k]!;
      if (ends[k]! < TO_END) {
        const d = x.shape[a];
        if (typeof d !== 'number') throw new Error(`Slice gradient: ${x} axis ${a} must have a known size`);
        pads[x.rank + a] = d - Math.min(ends[k]!, d);
      }
    });
    return [pad(g, pads)];
  },
};
/** x[starts:ends] along axes (step 1, non-negative starts; ends may be TO_END). */
export function slice(x: Tensor, starts: readonly number[], ends: readonly number[], axes: readonly number[]): Tensor {
  if (starts.some((s) => s < 0)) throw new Error(`Slice: negative starts are not supported (${starts})`);
  const a = axes.map((ax) => normAxis(ax, x.rank, 'Slice'));
  return single(x.graph.apply(SliceOp, [x], { starts: [...starts], ends: [...ends], axes: a }));
}

/** Zero padding: pads = [begin_0, ..., begin_n, end_0, ..., end_n] (ONNX Pad, constant mode). */
export const PadOp: OpDef<{ pads: number[] }> = {
  name: 'Pad',
  infer: ([x], { pads }) => [
    {
      dtype: x!.dtype,
      shape: x!.shape.map((d, a) => {
        const extra = pads[a]! + pads[x!.rank + a]!;
        return dimSum([d, extra]);
      }),
    },
  ],
  emit: (e, n, i, o) => e.node('Pad', [i[0]!, i64(e, n.attrs.pads)], o),
  vjp: ([g], n) => {
    if (!g) return [undefined];
    const rank = n.inputs[0]!.rank;
    const { pads } = n.attrs;
    const axes = [...Array(rank).keys()].filter((a) => pads[a] || pads[rank + a]);
    const x = n.inputs[0]!;
    return [
      slice(
        g,
        axes.map((a) => pads[a]!),
        axes.map((a) => {
          const d = x.shape[a];
          if (!pads[rank + a]) return TO_END;
          if (typeof d !== 'number') throw new Error(`Pad gradient: ${x} axis ${a} must have a known size`);
          return pads[a]! + d;
        }),
        axes,
      ),
    ];
  },
};
export function pad(x: Tensor, pads: readonly number[]): Tensor {
  if (pads.length !== 2 * x.rank) throw new Error(`Pad: needs ${2 * x.rank} pads for ${x}`);
  return single(x.graph.apply(PadOp, [x], { pads: [...pads] }));
}

/** Broadcasts x (dim 0 of size 1) along axis 0 to ref's runtime dim 0 (e.g. a prompt over the batch). */
export const ExpandBatchOp: OpDef = {
  name: 'ExpandBatch',
  infer: ([x, ref]) => [{ dtype: x!.dtype, shape: [ref!.shape[0]!, ...x!.shape.slice(1)] }],
  emit: (e, n, i, o) => {
    const [b, s] = [e.tmp('batch'), e.tmp('shape')];
    e.node('Shape', [i[1]!], [b], { start: int(0), end: int(1) });
    e.node(
      'Concat',
      [
        b,
        i64(
          e,
          n.inputs[0]!.shape.slice(1).map(() => 1),
        ),
      ],
      [s],
      { axis: int(0) },
    );
    e.node('Expand', [i[0]!, s], o);
  },
  vjp: ([g], _n, needs) => [needs[0] ? g : undefined, undefined],
};
export function expandBatch(x: Tensor, ref: Tensor): Tensor {
  if (x.shape[0] !== 1) throw new Error(`ExpandBatch: ${x} must have size 1 on axis 0`);
  return single(x.graph.apply(ExpandBatchOp, [x, ref], {}));
}
