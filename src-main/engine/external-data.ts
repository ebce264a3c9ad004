/**
 * External data: frozen weights stay in their own files and the ONNX model points at them by
 * (file, byte offset, byte length), as ONNX external data does (onnx/onnx.proto3 v1.10.2,
 * TensorProto.external_data with keys "location", "offset", "length"). A multi-GB backbone is then
 * never copied into the graph.
 *
 * The .safetensors helpers here are deliberately minimal (header parse, byte ranges, a writer for
 * tests and benchmarks); the full Hugging Face loader lives in the backbone.
 * Format: https://github.com/huggingface/safetensors (8-byte little-endian header length, JSON
 * header {name: {dtype, shape, data_offsets: [begin, end]}}, then the data buffer; offsets are
 * relative to the start of the data buffer).
 */
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { UserError } from '../common/errors.js';
import type { DType } from './dtype.js';
import { DTYPE_BYTES } from './dtype.js';

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
  const fd = openSync(path, 'r');
  try {
    const lenBuf = Buffer.alloc(8);
    if (readSync(fd, lenBuf, 0, 8, 0) !== 8) throw badFile(path, 'file shorter than its 8-byte header length');
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > 100_000_000) throw badFile(path, `header length ${headerLen} is implausible`);
    const header = Buffer.alloc(headerLen);
    if (readSync(fd, header, 0, headerLen, 8) !== headerLen) throw badFile(path, 'truncated header');
    let json: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    try {
      json = JSON.parse(header.toString('utf8'));
    } catch {
      throw badFile(path, 'header is not valid JSON');
    }
    const base = 8 + headerLen;
    const out = new Map<string, SafetensorsEntry>();
    for (const [name, entry] of Object.entries(json)) {
      if (name === '__metadata__') continue;
      const dtype = SAFETENSORS_DTYPES[entry.dtype];
      if (!dtype) throw badFile(path, `tensor ${name} has unsupported dtype ${entry.dtype}`);
      const [begin, end] = entry.data_offsets;
      out.set(name, { dtype, shape: entry.shape, location: { path, offset: base + begin, length: end - begin } });
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

function badFile(path: string, why: string): UserError {
  return new UserError(
    'BAD_FILE',
    `${path} is not a readable .safetensors file (${why}). Re-export or re-download it.`,
  );
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
  const header: Record<string, unknown> = {};
  let offset = 0;
  const chunks: { at: number; data: ArrayBufferView }[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = t.data.byteLength;
    const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    if (bytes !== expected) throw new Error(`writeSafetensors: ${name} has ${bytes} bytes, shape needs ${expected}`);
    offset = Math.ceil(offset / align) * align;
    header[name] = { dtype: DTYPE_TO_SAFETENSORS[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes] };
    chunks.push({ at: offset, data: t.data });
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const pad = (align - ((8 + Buffer.byteLength(json)) % align)) % align;
  json += ' '.repeat(pad);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  for (const c of chunks)
    Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength).copy(out, 8 + headerBytes.length + c.at);
  writeFileSync(path, out);
}
