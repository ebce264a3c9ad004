/**
 * The .safetensors format, read and written here only: backbone weights, adapters, prompt packs
 * and test fixtures all go through these functions.
 *
 * Format (https://github.com/huggingface/safetensors, "Format"): an 8-byte little-endian u64 N, an
 * N-byte JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}},
 * then the data buffer; offsets are relative to the start of the data buffer, little-endian values.
 *
 * Only headers are read up front: tensor bytes are read on demand with positioned reads of exactly
 * their range, or handed to onnxruntime as (file, offset, length) external data, so a multi-GB
 * backbone is never copied whole into the JS heap. Files are written one tensor at a time.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';

import { UserError } from '../common/errors.js';

/** Bytes per element of the safetensors dtypes we read (quantized F8_* / I4 ones are refused). */
export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** A tensor's header entry, with its absolute byte range in its file. */
export interface TensorEntry {
  readonly name: string;
  /** The safetensors dtype, e.g. "F32", "BF16". */
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Absolute path of the file holding the bytes. */
  readonly file: string;
  /** Absolute byte offset in `file` (8 + header length + data_offsets[0]). */
  readonly offset: number;
  readonly byteLength: number;
}

export interface SafetensorsHeader {
  readonly file: string;
  readonly headerLength: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: readonly TensorEntry[];
}

const MAX_HEADER_BYTES = 100 * 1024 * 1024; // the reference implementation's limit

function badFile(file: string, why: string): UserError {
  return new UserError(
    'BAD_FILE',
    `${file} is not a valid .safetensors file: ${why}. The file is corrupt or was not copied completely; copy the model folder again.`,
  );
}

/** Fills `target` from `position`; false when the file ends first. */
function readInto(fd: number, target: Uint8Array, position: number): boolean {
  let done = 0;
  while (done < target.byteLength) {
    const n = readSync(fd, target, done, target.byteLength - done, position + done);
    if (n === 0) return false;
    done += n;
  }
  return true;
}

function readExactly(fd: number, length: number, position: number): Buffer | undefined {
  const buf = Buffer.alloc(length);
  return readInto(fd, buf, position) ? buf : undefined;
}

/** Parses and validates one file's header: dtypes known, shapes match byte ranges, ranges inside the file. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const abs = path.resolve(file);
  let fd: number;
  try {
    fd = openSync(abs, 'r');
  } catch {
    throw new UserError('NOT_FOUND', `Cannot open ${abs}. Check that the model folder is complete and readable.`);
  }
  try {
    const fileSize = fstatSync(fd).size;
    const lenBuf = readExactly(fd, 8, 0);
    if (!lenBuf) throw badFile(abs, 'it is shorter than the 8-byte header length');
    const headerLength = Number(lenBuf.readBigUInt64LE(0));
    if (headerLength < 2 || headerLength > MAX_HEADER_BYTES)
      throw badFile(abs, `its header length (${headerLength} bytes) is implausible`);
    const headerBuf = readExactly(fd, headerLength, 8);
    if (!headerBuf) throw badFile(abs, `it ends inside its ${headerLength}-byte header`);
    let json: unknown;
    try {
      json = JSON.parse(headerBuf.toString('utf8'));
    } catch {
      throw badFile(abs, 'its header is not valid JSON');
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      throw badFile(abs, 'its header is not a JSON object');
    const dataStart = 8 + headerLength;
    const dataLength = fileSize - dataStart;
    const tensors: TensorEntry[] = [];
    let metadata: Record<string, string> = {};
    for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
      if (name === '__metadata__') {
        metadata = (raw ?? {}) as Record<string, string>;
        continue;
      }
      tensors.push(parseEntry(abs, name, raw, dataStart, dataLength));
    }
    return { file: abs, headerLength, metadata, tensors };
  } finally {
    closeSync(fd);
  }
}

function parseEntry(file: string, name: string, raw: unknown, dataStart: number, dataLength: number): TensorEntry {
  const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof e !== 'object' || e === null || typeof e.dtype !== 'string' || !Array.isArray(e.shape))
    throw badFile(file, `the header entry of tensor ${name} lacks dtype or shape`);
  const offsets = e.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0))
    throw badFile(file, `tensor ${name} has invalid data_offsets`);
  const shape = e.shape as unknown[];
  if (!shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0))
    throw badFile(file, `tensor ${name} has an invalid shape`);
  const elementBytes = SAFETENSORS_DTYPE_BYTES[e.dtype];
  if (elementBytes === undefined)
    throw new UserError(
      'UNSUPPORTED',
      `${file}: tensor ${name} has dtype ${e.dtype}; ClinPrompt loads F32, F16 and BF16 weights. Use an unquantized checkpoint.`,
    );
  const [begin, end] = offsets as [number, number];
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  if (end - begin !== count * elementBytes)
    throw badFile(
      file,
      `tensor ${name} has ${end - begin} bytes but its shape [${shape.join(', ')}] needs ${count * elementBytes}`,
    );
  if (end > dataLength)
    throw badFile(
      file,
      `tensor ${name} ends at byte ${dataStart + end} but the file has only ${dataStart + dataLength} (truncated)`,
    );
  return { name, dtype: e.dtype, shape: shape as number[], file, offset: dataStart + begin, byteLength: end - begin };
}

/** One tensor's raw bytes: a positioned read of its range only. */
export function readTensorBytes(entry: TensorEntry): Buffer {
  const buf = Buffer.alloc(entry.byteLength);
  readTensorBytesInto(entry, buf);
  return buf;
}

/**
 * Bytes [start, start + target.byteLength) of a tensor's data, read straight into `target`
 * (a typed array's memory: no second copy of a large tensor waits for the garbage collector).
 */
export function readTensorBytesInto(entry: TensorEntry, target: Uint8Array, start = 0): void {
  if (start < 0 || start + target.byteLength > entry.byteLength)
    throw new Error(`bytes ${start}..${start + target.byteLength} are outside tensor ${entry.name}`);
  const fd = openSync(entry.file, 'r');
  try {
    if (!readInto(fd, target, entry.offset + start))
      throw badFile(entry.file, `tensor ${entry.name} is cut short (truncated file)`);
  } finally {
    closeSync(fd);
  }
}

/** A tensor to write: its bytes already in `dtype`; a function is called only when its turn comes. */
export interface TensorBytes {
  readonly name: string;
  /** The safetensors dtype, e.g. "F32". */
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytes: ArrayBufferView | (() => ArrayBufferView);
}

/**
 * Writes one .safetensors file, tensors in the given order, each holding one tensor's bytes in
 * memory at a time. Data offsets are aligned to `align` bytes by padding the header with spaces,
 * as the reference writer does (8 there; 64 lets readers map tensors for SIMD loads).
 */
export function writeSafetensorsTensors(
  file: string,
  tensors: readonly TensorBytes[],
  { metadata, align = 8 }: { metadata?: Record<string, string>; align?: number } = {},
): void {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  const starts: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    const elementBytes = SAFETENSORS_DTYPE_BYTES[t.dtype];
    if (elementBytes === undefined) throw new Error(`${t.name}: cannot write dtype ${t.dtype}`);
    const bytes = t.shape.reduce((a, b) => a * b, 1) * elementBytes;
    offset = Math.ceil(offset / align) * align;
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    starts.push(offset);
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((align - ((8 + Buffer.byteLength(json)) % align)) % align);
  const headerBytes = Buffer.from(json, 'utf8');
  const dataStart = 8 + headerBytes.length;
  const fd = openSync(file, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(headerBytes.length));
    writeSync(fd, len, 0, 8, 0);
    writeSync(fd, headerBytes, 0, headerBytes.length, 8);
    tensors.forEach((t, i) => {
      const data = typeof t.bytes === 'function' ? t.bytes() : t.bytes;
      const expected = t.shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPE_BYTES[t.dtype]!;
      if (data.byteLength !== expected)
        throw new Error(`${t.name}: shape [${t.shape.join(', ')}] needs ${expected} bytes, got ${data.byteLength}`);
      writeSync(
        fd,
        new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        0,
        data.byteLength,
        dataStart + starts[i]!,
      );
    });
    // padding after the last tensor is not written: the file ends where its data ends
  } finally {
    closeSync(fd);
  }
}
