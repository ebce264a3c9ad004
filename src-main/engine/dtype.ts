/**
 * Element types and symbolic shapes of graph tensors.
 *
 * Data type codes are ONNX's TensorProto.DataType (onnx/onnx.proto3 at v1.10.2, "enum DataType"),
 * the version the onnx-proto package is generated from.
 */

export type DType = 'float32' | 'float16' | 'float64' | 'int64' | 'int32' | 'bool';

/** TensorProto.DataType codes: FLOAT = 1, INT32 = 6, INT64 = 7, BOOL = 9, FLOAT16 = 10, DOUBLE = 11. */
export const ONNX_DTYPE: Readonly<Record<DType, number>> = {
  float32: 1,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  float32: 4,
  int32: 4,
  int64: 8,
  bool: 1,
  float16: 2,
  float64: 8,
};

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float16' || dtype === 'float64';
}

/** A dimension: a known size, or a name (ONNX dim_param) such as 'batch' or 'tokens'. */
export type Dim = number | string;
export type Shape = readonly Dim[];

/** Product of the dims when all are known, else undefined. */
export function staticSize(shape: Shape): number | undefined {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') return undefined;
    n *= d;
  }
  return n;
}

export function shapeToString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Numpy-style broadcast of two shapes (symbolic dims must match by name unless the other is 1). */
export function broadcastShapes(a: Shape, b: Shape, opName: string): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)]!;
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)]!;
    if (da === 1) out.push(db);
    else if (db === 1 || da === db) out.push(da);
    else throw new Error(`${opName}: cannot broadcast ${shapeToString(a)} with ${shapeToString(b)}`);
  }
  return out;
}
