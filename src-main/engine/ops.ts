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
export * from './ops/common.js';
export * from './ops/elementwise.js';
export * from './ops/matmul.js';
export * from './ops/reduce.js';
export * from './ops/shape.js';
export * from './ops/indexing.js';
import {
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
} from './ops/elementwise.js';
import { MatMulOp, GemmOp } from './ops/matmul.js';
import { SoftmaxOp, LogSoftmaxOp, ReduceSumOp, ReduceMeanOp, ReduceMaxOp } from './ops/reduce.js';
import {
  ReshapeOp,
  TransposeOp,
  UnsqueezeOp,
  SqueezeOp,
  ConcatOp,
  SplitOp,
  SliceOp,
  PadOp,
  ExpandOp,
  ExpandBatchOp,
} from './ops/shape.js';
import { GatherOp } from './ops/indexing.js';

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
