/**
 * MatMul (emitted as FusedMatMul for transA/transB/alpha) and Gemm.
 */
import type { DType, Dim, Shape } from '../dtype.js';
import { broadcastShapes, shapeToString } from '../dtype.js';
import type { OpDef, Tensor } from '../graph.js';
import { typedArray } from '../numeric.js';
import { int, ints, MS_DOMAIN, requireFloat, single } from './common.js';
import { mul } from './elementwise.js';
import { reshape } from './shape.js';

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

/** The size of leading axes folded into one: a number when all are static, else one symbolic name. */
function flatRows(dims: readonly Dim[]): Dim {
  if (dims.every((d) => typeof d === 'number')) return dims.reduce<number>((p, d) => p * (d as number), 1);
  return dims.map(String).join('*');
}

/** ONNX Runtime's CPU FusedMatMul kernel is registered for float only; other dtypes get Transpose + MatMul. */
const FUSED_MATMUL_DTYPES: readonly DType[] = ['float32', 'float16'];

export const MatMulOp: OpDef<MatMulAttrs> = {
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
        // Both flattened row counts get one name, so the product's inner dims are seen to agree.
        const rows = flatRows(a.shape.slice(0, -1));
        const a2 = reshape(a, [rows, a.shape.at(-1)!]);
        const g2 = reshape(g, [rows, g.shape.at(-1)!]);
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
export const GemmOp: OpDef<GemmAttrs> = {
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
