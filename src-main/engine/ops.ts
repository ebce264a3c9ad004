/**
 * The engine's ops in one import: the op modules in ops/ (elementwise, matmul, reduce, shape,
 * indexing), where each op's shape inference, ONNX emission and vector-Jacobian product sit side
 * by side, followed by the function that applies it; and `OPS`, every op, read from their exports.
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
import type { OpDef } from './graph.js';
import * as elementwise from './ops/elementwise.js';
import * as indexing from './ops/indexing.js';
import * as matmul from './ops/matmul.js';
import * as reduce from './ops/reduce.js';
import * as shape from './ops/shape.js';

function isOpDef(value: unknown): value is OpDef<unknown> {
  return typeof value === 'object' && value !== null && 'name' in value && 'infer' in value && 'emit' in value;
}

/** Every op the op modules export, found from their exports (no second list to keep in step). */
export const OPS: readonly OpDef<unknown>[] = [elementwise, matmul, reduce, shape, indexing].flatMap((module) =>
  Object.values(module).filter(isOpDef),
);
