/**
 * Reader for Hugging Face `.safetensors` weights: one file, or shards listed by
 * `model.safetensors.index.json` ({"weight_map": {tensor name: shard file}}).
 *
 * Format (https://github.com/huggingface/safetensors, "Format"): an 8-byte little-endian u64 N, an
 * N-byte JSON header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}},
 * then the data buffer; offsets are relative to the start of the data buffer, little-endian values.
 *
 * Only headers are read up front. Tensor bytes are read on demand with positioned reads of exactly
 * their range (streamed), or handed to onnxruntime as (file, offset, length) external data, so a
 * multi-GB backbone is never copied whole into the JS heap.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';

import { UserError } from '../../common/errors.js';

/** Element types we load; others (I8, F8_*) are refused with a clear error. */
export type WeightDType = 'F32' | 'F16' | 'BF16';
export const WEIGHT_DTYPE_BYTES: Readonly<Record<WeightDType, number>> = { F32: 4, F16: 2, BF16: 2 };
/** Integer/bool dtypes that may appear (e.g. buffers) but are not weights we compute with. */
const OTHER_DTYPE_BYTES: Readonly<Record<string, number>> = { F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** A tensor's header entry, with its absolute byte range in its file. */
export interface TensorEntry {
  readonly name: string;
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

function readExactly(fd: number, length: number, position: number): Buffer | undefined {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) return undefined;
    done += n;
  }
  return buf;
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
  const elementBytes = WEIGHT_DTYPE_BYTES[e.dtype as WeightDType] ?? OTHER_DTYPE_BYTES[e.dtype];
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
  return {
    name,
    dtype: e.dtype,
    shape: shape as number[],
    file,
    offset: dataStart + begin,
    byteLength: end - begin,
  };
}

/** The safetensors files of a model folder: the sharded index when present, else *.safetensors. */
export function listSafetensorsFiles(dir: string): string[] {
  const indexPath = path.join(dir, 'model.safetensors.index.json');
  if (existsSync(indexPath)) {
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse(readFileSync(indexPath, 'utf8')) as typeof index;
    } catch {
      throw new UserError('BAD_FILE', `${indexPath} is not valid JSON. Copy the model folder again.`);
    }
    if (typeof index.weight_map !== 'object' || index.weight_map === null)
      throw new UserError('BAD_FILE', `${indexPath} has no "weight_map". Copy the model folder again.`);
    const shards = [...new Set(Object.values(index.weight_map))].sort();
    for (const shard of shards) {
      if (shard.includes('/') || shard.includes('\\'))
        throw new UserError('BAD_FILE', `${indexPath} names shard "${shard}" outside the model folder.`);
      if (!existsSync(path.join(dir, shard)))
        throw new UserError(
          'NOT_FOUND',
          `${indexPath} lists shard ${shard}, which is missing from ${dir}. Copy every model-*.safetensors file.`,
        );
    }
    return shards.map((s) => path.join(dir, s));
  }
  const single = path.join(dir, 'model.safetensors');
  if (existsSync(single)) return [single];
  throw new UserError(
    'NOT_FOUND',
    `${dir} has no model.safetensors (nor model.safetensors.index.json with its shards). Point --backbone at a Hugging Face model folder.`,
  );
}

/** All tensors of a (possibly sharded) model, by name. A name in two shards is an error. */
export class SafetensorsWeights {
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  readonly headers: readonly SafetensorsHeader[];

  constructor(files: readonly string[]) {
    this.headers = files.map(readSafetensorsHeader);
    const map = new Map<string, TensorEntry>();
    for (const h of this.headers)
      for (const t of h.tensors) {
        const other = map.get(t.name);
        if (other)
          throw new UserError(
            'BAD_FILE',
            `Tensor ${t.name} appears in both ${other.file} and ${t.file}. Copy the model folder again.`,
          );
        map.set(t.name, t);
      }
    this.tensors = map;
  }

  static fromFolder(dir: string): SafetensorsWeights {
    return new SafetensorsWeights(listSafetensorsFiles(dir));
  }

  get(name: string): TensorEntry {
    const t = this.tensors.get(name);
    if (!t)
      throw new UserError(
        'BAD_FILE',
        `The model's safetensors have no tensor ${name}. The folder is incomplete or not a LLaMA-family model.`,
      );
    return t;
  }

  /** Reads one tensor's raw bytes (a positioned read of its range only). */
  readBytes(entry: TensorEntry): Buffer {
    const fd = openSync(entry.file, 'r');
    try {
      const buf = readExactly(fd, entry.byteLength, entry.offset);
      if (!buf) throw badFile(entry.file, `tensor ${entry.name} is cut short (truncated file)`);
      return buf;
    } finally {
      closeSync(fd);
    }
  }

  /** One tensor widened to float32, shape `entry.shape` row-major. */
  readFloat32(name: string): Float32Array {
    const entry = this.get(name);
    return toFloat32(this.readBytes(entry), entry.dtype, entry.name);
  }
}

/** Widens little-endian F32/F16/BF16 bytes to a Float32Array. */
export function toFloat32(bytes: Buffer, dtype: string, name: string): Float32Array {
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(out.buffer).set(bytes);
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32
      const out = new Float32Array(bytes.byteLength / 2);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < out.length; i++) bits[i] = bytes.readUInt16LE(2 * i) << 16;
      return out;
    }
    case 'F16': {
      const out = new Float32Array(bytes.byteLength / 2);
      for (let i = 0; i < out.length; i++) out[i] = halfToFloat(bytes.readUInt16LE(2 * i));
      return out;
    }
    default:
      throw new UserError('UNSUPPORTED', `Tensor ${name} has dtype ${dtype}, which is not a float weight type.`);
  }
}

/** IEEE 754 binary16 to number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
