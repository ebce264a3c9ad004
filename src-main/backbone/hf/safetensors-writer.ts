/**
 * Writes Hugging Face `.safetensors` files (through engine/safetensors.ts), optionally sharded
 * with a `model.safetensors.index.json` as transformers' `save_pretrained(max_shard_size=...)`
 * does, and optionally narrowed to F16 / BF16. Used by the llama2.c conversion, BF16 widening and
 * by tests that build real model folders. Tensors are written one at a time (streamed).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { toFloat16Bits } from '../../engine/numeric.js';
import { writeSafetensorsTensors } from '../../engine/safetensors.js';
import type { WeightDType } from './safetensors.js';
import { WEIGHT_DTYPE_BYTES } from './safetensors.js';

export interface TensorToWrite {
  readonly name: string;
  readonly shape: readonly number[];
  /** Values in float32, row-major, narrowed to `dtype` on write; a function is called only then. */
  readonly data: Float32Array | (() => Float32Array);
}

/** float32 -> bfloat16 bits, rounding to nearest even (as torch's .to(torch.bfloat16)). */
export function floatToBf16Bits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0]!;
  if ((u & 0x7f800000) === 0x7f800000 && u & 0x7fffff) return (u >>> 16) | 0x40; // NaN stays NaN
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

function encode(data: Float32Array, dtype: WeightDType): ArrayBufferView {
  if (dtype === 'F32') return data;
  const narrow = dtype === 'BF16' ? floatToBf16Bits : toFloat16Bits;
  return Uint16Array.from(data, narrow); // little-endian on every platform we ship
}

/** Writes one .safetensors file holding `tensors` in `dtype`. */
export function writeSafetensorsFile(
  file: string,
  tensors: readonly TensorToWrite[],
  dtype: WeightDType = 'F32',
  metadata: Record<string, string> = { format: 'pt' },
): void {
  writeSafetensorsTensors(
    file,
    tensors.map((t) => ({
      name: t.name,
      dtype,
      shape: t.shape,
      bytes: () => {
        const data = typeof t.data === 'function' ? t.data() : t.data;
        const count = t.shape.reduce((a, b) => a * b, 1);
        if (count !== data.length)
          throw new Error(`${t.name}: shape [${t.shape.join(', ')}] needs ${count} values, got ${data.length}`);
        return encode(data, dtype);
      },
    })),
    { metadata },
  );
}

/**
 * Writes a model's tensors into `dir`: `model.safetensors`, or, with `shards > 1`, files
 * `model-0000i-of-0000n.safetensors` plus `model.safetensors.index.json` (transformers' naming).
 */
export function writeModelSafetensors(
  dir: string,
  tensors: readonly TensorToWrite[],
  options: { dtype?: WeightDType; shards?: number } = {},
): string[] {
  const dtype = options.dtype ?? 'F32';
  const shards = Math.max(1, Math.min(options.shards ?? 1, tensors.length));
  if (shards === 1) {
    const file = path.join(dir, 'model.safetensors');
    writeSafetensorsFile(file, tensors, dtype);
    return [file];
  }
  const pad = (n: number) => String(n).padStart(5, '0');
  const perShard = Math.ceil(tensors.length / shards);
  const weightMap: Record<string, string> = {};
  const files: string[] = [];
  let totalSize = 0;
  for (let s = 0; s < shards; s++) {
    const part = tensors.slice(s * perShard, (s + 1) * perShard);
    const name = `model-${pad(s + 1)}-of-${pad(shards)}.safetensors`;
    writeSafetensorsFile(path.join(dir, name), part, dtype);
    for (const t of part) {
      weightMap[t.name] = name;
      totalSize += t.shape.reduce((a, b) => a * b, 1) * WEIGHT_DTYPE_BYTES[dtype];
    }
    files.push(path.join(dir, name));
  }
  writeFileSync(
    path.join(dir, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2),
  );
  return files;
}
