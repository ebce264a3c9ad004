/**
 * External data: frozen weights stay in their own files and the ONNX model points at them by
 * (file, byte offset, byte length), as ONNX external data does (onnx/onnx.proto3 v1.10.2,
 * TensorProto.external_data with keys "location", "offset", "length"). A multi-GB backbone is then
 * never copied into the graph.
 *
 * The .safetensors files themselves are read and written by safetensors.ts; this is the view of
 * them in the engine's dtypes (the backbone's loader widens BF16, which the engine lacks).
 */
import { UserError } from '../common/errors.js';
import type { DType } from './dtype.js';
import { readSafetensorsHeader, writeSafetensorsTensors } from './safetensors.js';

export interface ExternalLocation {
  /** Absolute path of the file that holds the bytes. */
  readonly path: string;
  readonly offset: number;
  readonly length: number;
}

export function isExternalLocation(data: unknown): data is ExternalLocation {
  return typeof data === 'object' && data !== null && 'path' in data && 'offset' in data;
}

const SAFETENSORS_DTYPES: Readonly<Record<string, DType>> = {
  F32: 'float32',
  F16: 'float16',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  BOOL: 'bool',
};
const DTYPE_TO_SAFETENSORS = Object.fromEntries(Object.entries(SAFETENSORS_DTYPES).map(([k, v]) => [v, k]));

export interface SafetensorsEntry {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly location: ExternalLocation;
}

/** Reads a .safetensors header and returns each tensor's dtype, shape and absolute byte range. */
export function readSafetensorsIndex(path: string): Map<string, SafetensorsEntry> {
  const header = readSafetensorsHeader(path);
  const out = new Map<string, SafetensorsEntry>();
  for (const t of header.tensors) {
    const dtype = SAFETENSORS_DTYPES[t.dtype];
    if (!dtype)
      throw new UserError(
        'UNSUPPORTED',
        `${header.file}: tensor ${t.name} has dtype ${t.dtype}, which the engine does not compute in.`,
      );
    out.set(t.name, { dtype, shape: t.shape, location: { path: t.file, offset: t.offset, length: t.byteLength } });
  }
  return out;
}

export interface SafetensorsInput {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: ArrayBufferView;
}

/**
 * Writes a .safetensors file. Each tensor's data starts at an offset aligned to `align` bytes
 * (padding the header with spaces, as the reference writer does), so readers may map it directly.
 */
export function writeSafetensors(path: string, tensors: Record<string, SafetensorsInput>, align = 64): void {
  writeSafetensorsTensors(
    path,
    Object.entries(tensors).map(([name, t]) => ({
      name,
      dtype: DTYPE_TO_SAFETENSORS[t.dtype]!,
      shape: t.shape,
      bytes: t.data,
    })),
    { align },
  );
}
