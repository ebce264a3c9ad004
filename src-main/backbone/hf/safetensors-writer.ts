/**
 * Writes Hugging Face `.safetensors` files (format: see safetensors.ts), optionally sharded with a
 * `model.safetensors.index.json` as transformers' `save_pretrained(max_shard_size=...)` does, and
 * optionally narrowed to F16 / BF16. Used by the llama2.c conversion and by tests that build
 * real model folders. Tensors are written one at a time (streamed), never one big buffer.
 */
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

import type { WeightDType } from './safetensors.js';
import { WEIGHT_DTYPE_BYTES } from './safetensors.js';

export interface TensorToWrite {
  readonly name: string;
  readonly shape: readonly number[];
  /** Values in float32, row-major, narrowed to `dtype` on write; a function is called only then. */
  readonly data: Float32Array | (() => Float32Array);
}

const ALIGN = 8; // data offsets aligned to 8 bytes, as the reference writer pads its header

/** float32 -> bfloat16 bits, rounding to nearest even (as torch's .to(torch.bfloat16)). */
export function floatToBf16Bits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0]!;
  if ((u & 0x7f800000) === 0x7f800000 && u & 0x7fffff) return (u >>> 16) | 0x40; // NaN stays NaN
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 -> IEEE binary16 bits, round to nearest even. */
export function floatToHalfBits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // a carry into the exponent is still correct
  return sign | half;
}

function encode(data: Float32Array, dtype: WeightDType): Buffer {
  if (dtype === 'F32') return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out = Buffer.alloc(data.length * 2);
  const narrow = dtype === 'BF16' ? floatToBf16Bits : floatToHalfBits;
  for (let i = 0; i < data.length; i++) out.writeUInt16LE(narrow(data[i]!), 2 * i);
  return out;
}

/** Writes one .safetensors file holding `tensors` in `dtype`. */
export function writeSafetensorsFile(
  file: string,
  tensors: readonly TensorToWrite[],
  dtype: WeightDType = 'F32',
  metadata: Record<string, string> = { format: 'pt' },
): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * WEIGHT_DTYPE_BYTES[dtype];
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((ALIGN - ((8 + Buffer.byteLength(json)) % ALIGN)) % ALIGN);
  const headerBytes = Buffer.from(json, 'utf8');
  const fd = openSync(file, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(headerBytes.length));
    writeSync(fd, len);
    writeSync(fd, headerBytes);
    for (const t of tensors) {
      const data = typeof t.data === 'function' ? t.data() : t.data;
      const count = t.shape.reduce((a, b) => a * b, 1);
      if (count !== data.length)
        throw new Error(`${t.name}: shape [${t.shape.join(', ')}] needs ${count} values, got ${data.length}`);
      writeSync(fd, encode(data, dtype));
    }
  } finally {
    closeSync(fd);
  }
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
