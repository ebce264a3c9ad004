/**
 * The op table: one entry per op, with its shape inference, its ONNX emission and its
 * vector-Jacobian product side by side, followed by the function that applies it.
 *
 * ONNX semantics follow the operator specs at opset 18 (onnx/docs/Operators.md); FusedMatMul is
 * com.microsoft's contrib op (onnxruntime/docs/ContribOperators.md#com.microsoft.FusedMatMul):
 * Y = alpha * op(A) @ op(B) with op = transpose of the last two axes when transA/transB is set.
 * Weights are multiplied through FusedMatMul's transB rather than a Transpose node, so ONNX
 * Runtime never constant-folds a transposed second copy of a weight.
 *
 * VJPs may return gradients in a broadcast shape; the walker (autodiff.ts) sums them back.
 */
import type { DType, Dim, Shape } from './dtype.js';
import { broadcastShapes, isFloat, ONNX_DTYPE, shapeToString, staticSize } from './dtype.js';
import type { Emitter, OnnxAttr, OpDef, Tensor } from './graph.js';
import { typedArray } from './numeric.js';

export const MS_DOMAIN = 'com.microsoft';
/** "Slice to the end" in ONNX Slice (INT64_MAX clamps to the axis length). */
export const TO_END = Number.MAX_SAFE_INTEGER;

export type Operand = Tensor | number;

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

const int = (i: number): OnnxAttr => ({ i });
const ONNX_TO = ONNX_DTYPE;
const ints = (v: readonly number[]): OnnxAttr => ({ ints: v });

function i64(e: Emitter, values: readonly number[]): string {
  return e.constant(typedArray('int64', values), 'int64', [values.length]);
}

function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`${op}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

function same(t: Tensor): OpDefOutput {
  return [{ dtype: t.dtype, shape: t.shape }];
}
type OpDefOutput = { dtype: DType; shape: Shape }[];

function requireFloat(op: string, t: Tensor): void {
  if (!isFloat(t.dtype)) throw new Error(`${op}: expects a float tensor, got ${t}`);
}

/** A scalar constant with `like`'s dtype. */
export function scalar(like: Tensor, value: number): Tensor {
  return like.graph.constant(typedArray(like.dtype, [value]), like.dtype, []);
}

function lift(x: Operand, like: Tensor): Tensor {
  return typeof x === 'number' ? scalar(like, x) : x;
}

function pair(a: Operand, b: Operand, op: string): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new Error(`${op}: needs at least one tensor`);
  const ref = (typeof a === 'number' ? b : a) as Tensor;
  const ta = lift(a, ref);
  const tb = lift(b, ref);
  if (ta.dtype !== tb.dtype) throw new Error(`${op}: dtype mismatch ${ta} vs ${tb}`);
  return [ta, tb];
}

/**
 * Symbolic dim arithmetic, just enough for prompts: sums are written '<n>+<names>' (known part
 * first), so prepending a prompt of L tokens gives 'L+tokens' and slicing it off gives 'tokens'.
 */
function dimSum(dims: readonly Dim[]): Dim {
  let known = 0;
  const names: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') known += d;
    else {
      const m = /^(-?\d+)\+(.+)$/.exec(d);
      if (m) {
        known += Number(m[1]);
        names.push(m[2]!);
      } else names.push(d);
    }
  }
  if (names.length === 0) return known;
  return known === 0 ? names.join('+') : `${known}+${names.join('+')}`;
}
const dimMinus = (d: Dim, n: number): Dim => dimSum([d, -n]);

function single(t: Tensor[]): Tensor {
  return t[0]!;
}

// ---------------------------------------------------------------------------------------------
// elementwise binary ops (numpy broadcasting)
// ---------------------------------------------------------------------------------------------

type Grads = readonly (Tensor | undefined)[];

function binaryOp(
  name: string,
  vjp?: (g: Tensor, a: Tensor, b: Tensor, y: Tensor, needs: readonly boolean[]) => (Tensor | undefined)[],
  outDtype?: DType,
): OpDef {
  return {
    name,
    infer: ([a, b]) => [{ dtype: outDtype ?? a!.dtype, shape: broadcastShapes(a!.shape, b!.shape, name) }],
    emit: (e, _n, i, o) => e.node(name, i, o),
    ...(vjp && {
      vjp: (grads: Grads, node, needs) => {
        const g = grads[0];
        if (!g) return [undefined, undefined];
        return vjp(g, node.inputs[0]!, node.inputs[1]!, node.outputs[0]!, needs);
      },
    }),
  };
}

const AddOp = binaryOp('Add', (g) => [g, g]);
const SubOp = binaryOp('Sub', (g, _a, _b, _y, n) => [g, n[1] ? neg(g) : undefined]);
const MulOp = binaryOp('Mul', (g, a, b, _y, n) => [n[0] ? mul(g, b) : undefined, n[1] ? mul(g, a) : undefined]);
const DivOp = binaryOp('Div', (g, _a, b, y, n) => [
  n[0] ? div(g, b) : undefined,
  n[1] ? neg(div(mul(g, y), b)) : undefined,
]);
const PowOp = binaryOp('Pow', (g, a, b, y, n) => [
  n[0] ? mul(g, mul(b, pow(a, sub(b, 1)))) : undefined,
  n[1] ? mul(g, mul(y, log(a))) : undefined,
]);
// Max/Min: the gradient goes to the first operand on ties.
const MaxOp = binaryOp('Max', (g, a, b, _y, n) => [
  n[0] ? mul(g, cast(greaterOrEqual(a, b), g.dtype)) : undefined,
  n[1] ? mul(g, cast(less(a, b), g.dtype)) : undefined,
]);
const MinOp = binaryOp('Min', (g, a, b, _y, n) => [
  n[0] ? mul(g, cast(lessOrEqual(a, b), g.dtype)) : undefined,
  n[1] ? mul(g, cast(greater(a, b), g.dtype)) : undefined,
]);
const EqualOp = binaryOp('Equal', undefined, 'bool');
const LessOp = binaryOp('Less', undefined, 'bool');
const LessOrEqualOp = binaryOp('LessOrEqual', undefined, 'bool');
const GreaterOp = binaryOp('Greater', undefined, 'bool');
const GreaterOrEqualOp = binaryOp('GreaterOrEqual', undefined, 'bool');
const AndOp = binaryOp('And', undefined, 'bool');
const OrOp = binaryOp('Or', undefined, 'bool');

export const add = (a: Operand, b: Operand): Tensor => bin(AddOp, a, b);
export const sub = (a: Operand, b: Operand): Tensor => bin(SubOp, a, b);
export const mul = (a: Operand, b: Operand): Tensor => bin(MulOp, a, b);
export const div = (a: Operand, b: Operand): Tensor => bin(DivOp, a, b);
export const pow = (a: Operand, b: Operand): Tensor => bin(PowOp, a, b);
export const max = (a: Operand, b: Operand): Tensor => bin(MaxOp, a, b);
export const min = (a: Operand, b: Operand): Tensor => bin(MinOp, a, b);
export const equal = (a: Operand, b: Operand): Tensor => bin(EqualOp, a, b);
export const less = (a: Operand, b: Operand): Tensor => bin(LessOp, a, b);
export const lessOrEqual = (a: Operand, b: Operand): Tensor => bin(LessOrEqualOp, a, b);
export const greater = (a: Operand, b: Operand): Tensor => bin(GreaterOp, a, b);
export const greaterOrEqual = (a: Operand, b: Operand): Tensor => bin(GreaterOrEqualOp, a, b);
export const and = (a: Tensor, b: Tensor): Tensor => bin(AndOp, a, b);
export const or = (a: Tensor, b: Tensor): Tensor => bin(OrOp, a, b);

/** The most negative finite value of a float dtype (torch.finfo(dtype).min), for masking scores. */
export function lowestFinite(dtype: DType): number {
  if (dtype === 'float16') return -65504;
  if (dtype === 'float32') return -3.4028234663852886e38;
  return -Number.MAX_VALUE;
}

function bin(op: OpDef, a: Operand, b: Operand): Tensor {
  const [ta, tb] = pair(a, b, op.name);
  return single(ta.graph.apply(op, [ta, tb], {}));
}

// ---------------------------------------------------------------------------------------------
// elementwise unary ops
// ---------------------------------------------------------------------------------------------

function unaryOp(name: string, vjp: (g: Tensor, x: Tensor, y: Tensor) => Tensor): OpDef {
  return {
    name,
    infer: ([x]) => same(x!),
    emit: (e, _n, i, o) => e.node(name, i, o),
    vjp: (grads, node) => [grads[0] && vjp(grads[0], node.inputs[0]!, node.outputs[0]!)],
  };
}

const NegOp = unaryOp('Neg', (g) => neg(g));
const ExpOp = unaryOp('Exp', (g, _x, y) => mul(g, y));
const LogOp = unaryOp('Log', (g, x) => div(g, x));
const SqrtOp = unaryOp('Sqrt', (g, _x, y) => div(g, mul(y, 2)));
const ReciprocalOp = unaryOp('Reciprocal', (g, _x, y) => neg(mul(g, mul(y, y))));
const SigmoidOp = unaryOp('Sigmoid', (g, _x, y) => mul(g, mul(y, sub(1, y))));
const TanhOp = unaryOp('Tanh', (g, _x, y) => mul(g, sub(1, mul(y, y))));
// d/dx erf(x) = 2/sqrt(pi) * exp(-x^2)
const ErfOp: OpDef = {
  ...unaryOp('Erf', (g, x) => mul(g, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))),
  // ONNX Runtime's CPU Erf kernel is float32 only: float64 graphs round-trip through float32.
  emit: (e, n, i, o) => {
    if (n.inputs[0]!.dtype !== 'float64') return e.node('Erf', i, o);
    const [x32, y32] = [e.tmp('x32'), e.tmp('erf32')];
    e.node('Cast', i, [x32], { to: int(ONNX_TO.float32) });
    e.node('Erf', [x32], [y32]);
    e.node('Cast', [y32], o, { to: int(ONNX_TO.float64) });
  },
};
const SinOp = unaryOp('Sin', (g, x) => mul(g, cos(x)));
const CosOp = unaryOp('Cos', (g, x) => neg(mul(g, sin(x))));
const IdentityOp = unaryOp('Identity', (g) => g);

const un = (op: OpDef, x: Tensor): Tensor => single(x.graph.apply(op, [x], {}));
export const neg = (x: Tensor): Tensor => un(NegOp, x);
export const exp = (x: Tensor): Tensor => un(ExpOp, x);
export const log = (x: Tensor): Tensor => un(LogOp, x);
export const sqrt = (x: Tensor): Tensor => un(SqrtOp, x);
export const reciprocal = (x: Tensor): Tensor => un(ReciprocalOp, x);
export const sigmoid = (x: Tensor): Tensor => un(SigmoidOp, x);
export const tanh = (x: Tensor): Tensor => un(TanhOp, x);
export const erf = (x: Tensor): Tensor => un(ErfOp, x);
export const sin = (x: Tensor): Tensor => un(SinOp, x);
export const cos = (x: Tensor): Tensor => un(CosOp, x);
export const identity = (x: Tensor): Tensor => un(IdentityOp, x);

// ---------------------------------------------------------------------------------------------
// Cast, Clip, Where
// ---------------------------------------------------------------------------------------------

const CastOp: OpDef<{ to: DType }> = {
  name: 'Cast',
  infer: ([x], { to }) => [{ dtype: to, shape: x!.shape }],
  emit: (e, n, i, o) => e.node('Cast', i, o, { to: int(ONNX_TO[n.attrs.to]) }),
  vjp: ([g], n) => [g && isFloat(n.inputs[0]!.dtype) ? cast(g, n.inputs[0]!.dtype) : undefined],
};
export function cast(x: Tensor, to: DType): Tensor {
  return x.dtype === to ? x : single(x.graph.apply(CastOp, [x], { to }));
}

const ClipOp: OpDef<{ min: number; max: number }> = {
  name: 'Clip',
  infer: ([x]) => same(x!),
  emit: (e, n, i, o) => {
    const x = n.inputs[0]!;
    const lo = e.constant(typedArray(x.dtype, [n.attrs.min]), x.dtype, []);
    const hi = e.constant(typedArray(x.dtype, [n.attrs.max]), x.dtype, []);
    e.node('Clip', [i[0]!, lo, hi], o);
  },
  vjp: ([g], n) => {
    if (!g) return [undefined];
    const x = n.inputs[0]!;
    const inside = and(greaterOrEqual(x, n.attrs.min), lessOrEqual(x, n.attrs.max));
    return [mul(g, cast(inside, g.dtype))];
  },
};
export function clip(x: Tensor, min: number, max: number): Tensor {
  requireFloat('Clip', x);
  return single(x.graph.apply(ClipOp, [x], { min, max }));
}

const WhereOp: OpDef = {
  name: 'Where',
  infer: ([c, a, b]) => [
    { dtype: a!.dtype, shape: broadcastShapes(c!.shape, broadcastShapes(a!.shape, b!.shape, 'Where'), 'Where') },
  ],
  emit: (e, _n, i, o) => e.node('Where', i, o),
  vjp: ([g], n, needs) => {
    if (!g) return [undefined, undefined, undefined];
    const c = n.inputs[0]!;
    const zero = scalar(g, 0);
    return [undefined, needs[1] ? where(c, g, zero) : undefined, needs[2] ? where(c, zero, g) : undefined];
  },
};
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const [ta, tb] = pair(a, b, 'Where');
  return single(cond.graph.apply(WhereOp, [cond, ta, tb], {}));
}

// ---------------------------------------------------------------------------------------------
// matrix products
// ---------------------------------------------------------------------------------------------

interface MatMulAttrs {
  transA: boolean;
  transB: boolean;
  alpha: number;
}

function matmulShape(a: Shape, b: Shape, { transA, transB }: MatMulAttrs): Dim[] {
  if (a.length < 2 || b.length < 2)
    throw new Error(`MatMul: operands must have rank >= 2, got ${shapeToString(a)}, ${shapeToString(b)}`);
  const [m, ka] = transA ? [a.at(-1)!, a.at(-2)!] : [a.at(-2)!, a.at(-1)!];
  const [kb, n] = transB ? [b.at(-1)!, b.at(-2)!] : [b.at(-2)!, b.at(-1)!];
  if (ka !== kb)
    throw new Error(
      `MatMul: inner dims differ: ${shapeToString(a)} x ${shapeToString(b)} (transA=${transA}, transB=${transB})`,
    );
  return [...broadcastShapes(a.slice(0, -2), b.slice(0, -2), 'MatMul'), m, n];
}

/** ONNX Runtime's CPU FusedMatMul kernel is registered for float only; other dtypes get Transpose + MatMul. */
const FUSED_MATMUL_DTYPES: readonly DType[] = ['float32', 'float16'];

const MatMulOp: OpDef<MatMulAttrs> = {
  name: 'MatMul',
  infer: ([a, b], attrs) => [{ dtype: a!.dtype, shape: matmulShape(a!.shape, b!.shape, attrs) }],
  emit: (e, n, i, o) => {
    const { transA, transB, alpha } = n.attrs;
    const plain = !transA && !transB && alpha === 1;
    if (plain) return e.node('MatMul', i, o);
    const dtype = n.inputs[0]!.dtype;
    if (FUSED_MATMUL_DTYPES.includes(dtype))
      return e.node(
        'FusedMatMul',
        i,
        o,
        { transA: int(+transA), transB: int(+transB), alpha: { f: alpha } },
        MS_DOMAIN,
      );
    const swapLast = (name: string, rank: number): string => {
      const t = e.tmp('T');
      const perm = [...Array(rank).keys()];
      [perm[rank - 1], perm[rank - 2]] = [rank - 2, rank - 1];
      e.node('Transpose', [name], [t], { perm: ints(perm) });
      return t;
    };
    const a = transA ? swapLast(i[0]!, n.inputs[0]!.rank) : i[0]!;
    const b = transB ? swapLast(i[1]!, n.inputs[1]!.rank) : i[1]!;
    if (alpha === 1) return e.node('MatMul', [a, b], o);
    const y = e.tmp('mm');
    e.node('MatMul', [a, b], [y]);
    e.node('Mul', [y, e.constant(typedArray(dtype, [alpha]), dtype, [])], o);
  },
  vjp: ([g], n, needs) => {
    if (!g) return [undefined, undefined];
    const [a, b] = [n.inputs[0]!, n.inputs[1]!];
    const { transA: tA, transB: tB, alpha } = n.attrs;
    // Y = alpha op(A) op(B):  dop(A) = alpha G op(B)^T,  dop(B) = alpha op(A)^T G.
    const da = !needs[0]
      ? undefined
      : tA
        ? matmul(b, g, { transA: tB, transB: true, alpha }) // dA = alpha op(B) G^T
        : matmul(g, b, { transB: !tB, alpha });
    let db: Tensor | undefined;
    if (needs[1]) {
      if (b.rank === 2 && a.rank > 2 && !tA) {
        // A weight shared across the batch: fold the batch into rows so dB is one 2-D product.
        const a2 = reshape(a, [-1, a.shape.at(-1)!]);
        const g2 = reshape(g, [-1, g.shape.at(-1)!]);
        db = tB ? matmul(g2, a2, { transA: true, alpha }) : matmul(a2, g2, { transA: true, alpha });
      } else {
        db = tB ? matmul(g, a, { transA: true, transB: tA, alpha }) : matmul(a, g, { transA: !tA, alpha });
      }
    }
    return [da, db];
  },
};

/** alpha * op(a) @ op(b), batched over leading axes (numpy broadcasting). */
export function matmul(a: Tensor, b: Tensor, opts: Partial<MatMulAttrs> = {}): Tensor {
  requireFloat('MatMul', a);
  if (a.dtype !== b.dtype) throw new Error(`MatMul: dtype mismatch ${a} vs ${b}`);
  const attrs = { transA: opts.transA ?? false, transB: opts.transB ?? false, alpha: opts.alpha ?? 1 };
  return single(a.graph.apply(MatMulOp, [a, b], attrs));
}

interface GemmAttrs extends MatMulAttrs {
  beta: number;
}
const GemmOp: OpDef<GemmAttrs> = {
  name: 'Gemm',
  infer: ([a, b, c], attrs) => {
    const ab = matmulShape(a!.shape, b!.shape, attrs);
    return [{ dtype: a!.dtype, shape: c ? broadcastShapes(ab, c.shape, 'Gemm') : ab }];
  },
  emit: (e, n, i, o) =>
    e.node('Gemm', i, o, {
      transA: int(+n.attrs.transA),
      transB: int(+n.attrs.transB),
      alpha: { f: n.attrs.alpha },
      beta: { f: n.attrs.beta },
    }),
  vjp: (grads, n, needs) => {
    const [da, db] = MatMulOp.vjp!(grads, n, needs);
    const g = grads[0];
    const dc = g && needs[2] ? (n.attrs.beta === 1 ? g : mul(g, n.attrs.beta)) : undefined;
    return [da, db, dc];
  },
};
/** Y = alpha op(A) op(B) + beta C for 2-D A, B (ONNX Gemm). */
export function gemm(a: Tensor, b: Tensor, c?: Tensor, opts: Partial<GemmAttrs> = {}): Tensor {
  if (a.rank !== 2 || b.rank !== 2) throw new Error(`Gemm: operands must be 2-D, got ${a}, ${b}`);
  const attrs = {
    transA: opts.transA ?? false,
    transB: opts.transB ?? false,
    alpha: opts.alpha ?? 1,
    beta: opts.beta ?? 1,
  };
  return single(a.graph.apply(GemmOp, c ? [a, b, c] : [a, b], attrs));
}

// ---------------------------------------------------------------------------------------------
// Softmax, LogSoftmax
// ---------------------------------------------------------------------------------------------

const SoftmaxOp: OpDef<{ axis: number }> = {
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
const LogSoftmaxOp: OpDef<{ axis: number }> = {
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
const ReduceSumOp = reduceOp('ReduceSum', (g, x) => expandLike(g, x));
const ReduceMeanOp = reduceOp('ReduceMean', (g, x, _y, { axes }) =>
  expandLike(div(g, dimsProduct(x, axes, g.dtype)), x),
);
// The gradient goes to every position that attains the maximum.
const ReduceMaxOp = reduceOp('ReduceMax', (g, x, y) => mul(expandLike(g, x), cast(equal(x, y), g.dtype)));

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
const ReduceProdIntOp: OpDef = {
  name: 'ReduceProd',
  infer: ([x]) => [{ dtype: x!.dtype, shape: [] }],
  emit: (e, _n, i, o) => e.node('ReduceProd', i, o, { keepdims: int(0) }),
};

// ---------------------------------------------------------------------------------------------
// shape ops
// ---------------------------------------------------------------------------------------------

const ShapeOp: OpDef = {
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
const ReshapeOp: OpDef<{ dims: Dim[]; onnx: number[] }> = {
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

const ReshapeLikeOp: OpDef = {
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

const ExpandLikeOp: OpDef = {
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

const ExpandOp: OpDef<{ dims: Dim[] }> = {
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

const TransposeOp: OpDef<{ perm: number[] }> = {
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

const UnsqueezeOp: OpDef<{ axes: number[] }> = {
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

const SqueezeOp: OpDef<{ axes: number[] }> = {
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

const ConcatOp: OpDef<{ axis: number }> = {
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

const SplitOp: OpDef<{ axis: number; sizes: number[] }> = {
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
const SliceOp: OpDef<SliceAttrs> = {
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
const PadOp: OpDef<{ pads: number[] }> = {
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

// ---------------------------------------------------------------------------------------------
// indexing
// ---------------------------------------------------------------------------------------------

const GatherOp: OpDef<{ axis: number }> = {
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
const GatherGradOp: OpDef = {
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
const GatherElementsOp: OpDef<{ axis: number }> = {
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
const ArangeOp: OpDef<{ axis: number }> = {
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

/** Broadcasts x (dim 0 of size 1) along axis 0 to ref's runtime dim 0 (e.g. a prompt over the batch). */
const ExpandBatchOp: OpDef = {
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

/** Every op in the table, for tests that check each has a rule. */
export const OPS = {
  AddOp,
  SubOp,
  MulOp,
  DivOp,
  PowOp,
  MaxOp,
  MinOp,
  NegOp,
  ExpOp,
  LogOp,
  SqrtOp,
  ReciprocalOp,
  SigmoidOp,
  TanhOp,
  ErfOp,
  SinOp,
  CosOp,
  CastOp,
  ClipOp,
  WhereOp,
  MatMulOp,
  GemmOp,
  SoftmaxOp,
  LogSoftmaxOp,
  ReduceSumOp,
  ReduceMeanOp,
  ReduceMaxOp,
  ReshapeOp,
  TransposeOp,
  UnsqueezeOp,
  SqueezeOp,
  ConcatOp,
  SplitOp,
  SliceOp,
  PadOp,
  GatherOp,
  ExpandOp,
  ExpandBatchOp,
};
