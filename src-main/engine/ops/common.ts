/**
 * Helpers shared by the op table: attribute and constant emission, axis normalisation,
 * scalar lifting, and the little symbolic dim arithmetic prompts need.
 */
import type { DType, Dim, Shape } from '../dtype.js';
import { ONNX_DTYPE, isFloat } from '../dtype.js';
import type { Emitter, OnnxAttr, Tensor } from '../graph.js';
import { typedArray } from '../numeric.js';

export const MS_DOMAIN = 'com.microsoft';
/** "Slice to the end" in ONNX Slice (INT64_MAX clamps to the axis length). */
export const TO_END = Number.MAX_SAFE_INTEGER;

export type Operand = Tensor | number;

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

export const int = (i: number): OnnxAttr => ({ i });
export const ONNX_TO = ONNX_DTYPE;
export const ints = (v: readonly number[]): OnnxAttr => ({ ints: v });

export function i64(e: Emitter, values: readonly number[]): string {
  return e.constant(typedArray('int64', values), 'int64', [values.length]);
}

export function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`${op}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

export function same(t: Tensor): OpDefOutput {
  return [{ dtype: t.dtype, shape: t.shape }];
}
export type OpDefOutput = { dtype: DType; shape: Shape }[];

export function requireFloat(op: string, t: Tensor): void {
  if (!isFloat(t.dtype)) throw new Error(`${op}: expects a float tensor, got ${t}`);
}

/** A scalar constant with `like`'s dtype. */
export function scalar(like: Tensor, value: number): Tensor {
  return like.graph.constant(typedArray(like.dtype, [value]), like.dtype, []);
}

export function lift(x: Operand, like: Tensor): Tensor {
  return typeof x === 'number' ? scalar(like, x) : x;
}

export function pair(a: Operand, b: Operand, op: string): [Tensor, Tensor] {
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
export function dimSum(dims: readonly Dim[]): Dim {
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
export const dimMinus = (d: Dim, n: number): Dim => dimSum([d, -n]);

export function single(t: Tensor[]): Tensor {
  return t[0]!;
}
