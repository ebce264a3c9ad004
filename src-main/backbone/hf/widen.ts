/**
 * bfloat16 checkpoints on the engine: the engine's dtypes (float32, float16) have no bfloat16, and
 * ONNX Runtime's CPU kernels compute in float32 anyway, so BF16 tensors are widened once into a
 * float32 .safetensors file in the model cache (one tensor in memory at a time) and the graph's
 * external data points there. F32 and F16 tensors keep pointing into the original files.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

import { log } from '../../common/log.js';
import { readSafetensorsHeader } from './safetensors.js';
import type { TensorEntry, SafetensorsWeights } from './safetensors.js';
import { writeSafetensorsFile } from './safetensors-writer.js';

/** `tensors` with every BF16 entry replaced by its float32 copy under `cacheDir/<key>/`. */
export function widenBf16Tensors(
  tensors: ReadonlyMap<string, TensorEntry>,
  weights: SafetensorsWeights,
  cacheDir: string,
  key: string,
): Map<string, TensorEntry> {
  const bf16 = [...tensors.values()].filter((t) => t.dtype === 'BF16');
  const out = new Map(tensors);
  if (bf16.length === 0) return out;
  const dir = path.join(cacheDir, `widened-${key.replace(/^sha256:/, '').slice(0, 24)}`);
  const file = path.join(dir, 'model.f32.safetensors');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.tmp-${randomUUID()}`; // unique per thread: workers share a pid
    // one file, tensors written in turn; readFloat32 holds a single tensor at a time
    writeSafetensorsFile(
      tmp,
      bf16.map((t) => ({ name: t.name, shape: t.shape, data: () => weights.readFloat32(t.name) })),
      'F32',
    );
    try {
      renameSync(tmp, file);
    } catch {
      rmSync(tmp, { force: true });
    }
    log.info('backbone-bf16-widened', { tensors: bf16.length, file });
  }
  for (const t of readSafetensorsHeader(file).tensors) out.set(t.name, t);
  return out;
}
