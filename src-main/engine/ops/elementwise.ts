/**
 * Elementwise ops (numpy broadcasting), Cast, Clip and Where: emission and VJP side by side.
 */
import type { DType } from '../dtype.js';
import { broadcastShapes, isFloat } from '../dtype.js';
import type { OpDef, Tensor } from '../graph.js';
import { typedArray } from '../numeric.js';
import type { Operand } from './common.js';
import { int, ONNX_TO, pair, requireFloat, same, scalar, single } from './common.js';

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

export const AddOp = binaryOp('Add', (g) => [g, g]);
export const SubOp = binaryOp('Sub', (g, _a, _b, _y, n) => [g, n[1] ? neg(g) : undefined]);
export const MulOp = binaryOp('Mul', (g, a, b, _y, n) => [n[0] ? mul(g, b) : undefined, n[1] ? mul(g, a) : undefined]);
export const DivOp = binaryOp('Div', (g, _a, b, y, n) => [
  n[0] ? div(g, b) : undefined,
  n[1] ? neg(div(mul(g, y), b)) : undefined,
]);
export const PowOp = binaryOp('Pow', (g, a, b, y, n) => [
  n[0] ? mul(g, mul(b, pow(a, sub(b, 1)))) : undefined,
  n[1] ? mul(g, mul(y, log(a))) : undefined,
]);
// Max/Min: the gradient goes to the first operand on ties.
export const MaxOp = binaryOp('Max', (g, a, b, _y, n) => [
  n[0] ? mul(g, cast(greaterOrEqual(a, b), g.dtype)) : undefined,
  n[1] ? mul(g, cast(less(a, b), g.dtype)) : undefined,
]);
export const MinOp = binaryOp('Min', (g, a, b, _y, n) => [
  n[0] ? mul(g, cast(lessOrEqual(a, b), g.dtype)) : undefined,
  n[1] ? mul(g, cast(greater(a, b), g.dtype)) : undefined,
]);
export const EqualOp = binaryOp('Equal', undefined, 'bool');
export const LessOp = binaryOp('Less', undefined, 'bool');
export const LessOrEqualOp = binaryOp('LessOrEqual', undefined, 'bool');
export const GreaterOp = binaryOp('Greater', undefined, 'bool');
export const GreaterOrEqualOp = binaryOp('GreaterOrEqual', undefined, 'bool');
export const AndOp = binaryOp('And', undefined, 'bool');
export const OrOp = binaryOp('Or', undefined, 'bool');

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

export const NegOp = unaryOp('Neg', (g) => neg(g));
export const ExpOp = unaryOp('Exp', (g, _x, y) => mul(g, y));
export const LogOp = unaryOp('Log', (g, x) => div(g, x));
export const SqrtOp = unaryOp('Sqrt', (g, _x, y) => div(g, mul(y, 2)));
export const ReciprocalOp = unaryOp('Reciprocal', (g, _x, y) => neg(mul(g, mul(y, y))));
export const SigmoidOp = unaryOp('Sigmoid', (g, _x, y) => mul(g, mul(y, sub(1, y))));
export const TanhOp = unaryOp('Tanh', (g, _x, y) => mul(g, sub(1, mul(y, y))));
// d/dx erf(x) = 2/sqrt(pi) * exp(-x^2)
export const ErfOp: OpDef = {
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
export const SinOp = unaryOp('Sin', (g, x) => mul(g, cos(x)));
export const CosOp = unaryOp('Cos', (g, x) => neg(mul(g, sin(x))));
export const IdentityOp = unaryOp('Identity', (g) => g);

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

export const CastOp: OpDef<{ to: DType }> = {
  name: 'Cast',
  infer: ([x], { to }) => [{ dtype: to, shape: x!.shape }],
  emit: (e, n, i, o) => e.node('Cast', i, o, { to: int(ONNX_TO[n.attrs.to]) }),
  vjp: ([g], n) => [g && isFloat(n.inputs[0]!.dtype) ? cast(g, n.inputs[0]!.dtype) : undefined],
};
export function cast(x: Tensor, to: DType): Tensor {
  return x.dtype === to ? x : single(x.graph.apply(CastOp, [x], { to }));
}

export const ClipOp: OpDef<{ min: number; max: number }> = {
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

export const WhereOp: OpDef = {
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
