/**
 * Hugging Face model weights in `.safetensors`: one file, or shards listed by
 * `model.safetensors.index.json` ({"weight_map": {tensor name: shard file}}). The file format
 * itself is read by engine/safetensors.ts; this adds the folder, the shards and float32 widening.
 *
 * Tensor bytes are read on demand (one tensor's range at a time), or handed to onnxruntime as
 * (file, offset, length) external data, so a multi-GB backbone is never copied whole into the heap.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { UserError } from '../../common/errors.js';
import { fromFloat16Bits } from '../../engine/numeric.js';
import {
  readSafetensorsHeader,
  readTensorBytesInto,
  type SafetensorsHeader,
  type TensorEntry,
} from '../../engine/safetensors.js';

export { readSafetensorsHeader, type SafetensorsHeader, type TensorEntry } from '../../engine/safetensors.js';

/** Element types we compute with; headers with others (buffers) still load, quantized ones do not. */
export type WeightDType = 'F32' | 'F16' | 'BF16';
export const WEIGHT_DTYPE_BYTES: Readonly<Record<WeightDType, number>> = { F32: 4, F16: 2, BF16: 2 };

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

  /** One tensor widened to float32, shape `entry.shape` row-major. */
  readFloat32(name: string): Float32Array {
    const entry = this.get(name);
    return this.readRowsFloat32(name, 0, entry.shape[0] ?? 1);
  }

  /**
   * Rows [start, start + count) of a tensor (along its first axis) widened to float32: a few
   * rows of a large embedding table without reading the table.
   */
  readRowsFloat32(name: string, start: number, count: number): Float32Array {
    const entry = this.get(name);
    const rows = entry.shape[0] ?? 1;
    const rowBytes = entry.byteLength / rows;
    if (start < 0 || count < 0 || start + count > rows)
      throw new Error(`rows ${start}..${start + count} are outside ${name} (${rows} rows)`);
    if (entry.dtype === 'F32') {
      const out = new Float32Array((count * rowBytes) / 4);
      readTensorBytesInto(entry, new Uint8Array(out.buffer), start * rowBytes);
      return out;
    }
    const bytes = Buffer.alloc(count * rowBytes);
    readTensorBytesInto(entry, bytes, start * rowBytes);
    return toFloat32(bytes, entry.dtype, entry.name);
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
      for (let i = 0; i < out.length; i++) out[i] = fromFloat16Bits(bytes.readUInt16LE(2 * i));
      return out;
    }
    default:
      throw new UserError('UNSUPPORTED', `Tensor ${name} has dtype ${dtype}, which is not a float weight type.`);
  }
}
