/**
 * Opens a backbone folder: a Hugging Face folder (config.json + *.safetensors + tokenizer.json),
 * or a llama2.c folder (model .bin + tok*.bin), which is converted once to an HF folder in a cache
 * folder keyed by the files' content hash and then opened like any other. Only headers and small
 * JSON files are read here; weights stay in their files.
 */
import type { Hash } from 'node:crypto';
import { createHash, randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { UserError } from '../common/errors.js';
import { log } from '../common/log.js';
import { backboneFingerprint } from './fingerprint.js';
import type { LlamaConfig } from './hf/config.js';
import { parameterCount, readLlamaConfig } from './hf/config.js';
import { checkLlamaTensors } from './hf/llama-tensors.js';
import type { TensorEntry } from './hf/safetensors.js';
import { SafetensorsWeights } from './hf/safetensors.js';
import { convertLlama2cFolder, findLlama2cFiles } from './llama2c/convert.js';
import { HfTokenizer } from './tokenizer/hf-tokenizer.js';

export interface Backbone {
  /** The folder the user named. */
  readonly sourceDir: string;
  readonly format: 'huggingface' | 'llama2c';
  /** The HF folder actually loaded (the conversion cache for llama2.c). */
  readonly hfDir: string;
  readonly config: LlamaConfig;
  readonly weights: SafetensorsWeights;
  /** The tensors the forward pass uses, checked against the config. */
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  readonly tokenizer: HfTokenizer;
  /** Stop ids for generation: config eos + generation_config.json eos. */
  readonly eosTokenIds: readonly number[];
  readonly parameters: number;
  /** The dtype most weight bytes are stored in (F32, F16 or BF16). */
  readonly weightDType: string;
  fingerprint(): string;
}

/** Where converted llama2.c folders are cached (no PHI: public model files only). */
export function conversionCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['CLINPROMPT_MODEL_CACHE'] ?? path.join(os.tmpdir(), 'clinprompt-model-cache');
}

/** Feeds a file to a hash in 1 MiB chunks (no whole-file buffer). */
function hashFile(hash: Hash, file: string): void {
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(1 << 20);
    for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0;) hash.update(chunk.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

function llama2cHfDir(src: string, files: { modelFile: string; tokenizerFile: string }, cacheRoot: string): string {
  const hash = createHash('sha256');
  hash.update('llama2c-to-hf-v1');
  for (const f of [files.modelFile, files.tokenizerFile]) hashFile(hash, f);
  const dest = path.join(cacheRoot, `llama2c-${hash.digest('hex').slice(0, 16)}`);
  if (!existsSync(path.join(dest, 'config.json'))) {
    // convert into a fresh folder and rename, so a concurrent or interrupted run never sees half a folder
    const tmp = `${dest}.tmp-${randomUUID()}`; // unique per thread: test workers share a pid
    convertLlama2cFolder(src, tmp);
    try {
      renameSync(tmp, dest);
    } catch {
      rmSync(tmp, { recursive: true, force: true }); // another process won the race
    }
    log.info('backbone-llama2c-converted', { dest });
  }
  return dest;
}

function generationEos(dir: string): number[] {
  const file = path.join(dir, 'generation_config.json');
  if (!existsSync(file)) return [];
  try {
    const eos = (JSON.parse(readFileSync(file, 'utf8')) as { eos_token_id?: unknown }).eos_token_id;
    return Array.isArray(eos) ? (eos as number[]) : typeof eos === 'number' ? [eos] : [];
  } catch {
    throw new UserError('BAD_FILE', `${file} is not valid JSON. Copy the model folder again or delete that file.`);
  }
}

export function openBackbone(dir: string, options: { cacheDir?: string } = {}): Backbone {
  const sourceDir = path.resolve(dir);
  if (!existsSync(sourceDir)) throw new UserError('NOT_FOUND', `Backbone folder ${sourceDir} does not exist.`);
  const llama2c = findLlama2cFiles(sourceDir);
  const hfDir = llama2c ? llama2cHfDir(sourceDir, llama2c, options.cacheDir ?? conversionCacheDir()) : sourceDir;
  const config = readLlamaConfig(hfDir);
  const weights = SafetensorsWeights.fromFolder(hfDir);
  const tensors = checkLlamaTensors(config, weights, hfDir);
  const tokenizer = HfTokenizer.fromFolder(hfDir);
  if (tokenizer.vocabSize > config.vocabSize)
    throw new UserError(
      'BAD_FILE',
      `${hfDir}/tokenizer.json has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${config.vocabSize}. The tokenizer belongs to another model.`,
    );
  const bytesByDType = new Map<string, number>();
  for (const t of tensors.values()) bytesByDType.set(t.dtype, (bytesByDType.get(t.dtype) ?? 0) + t.byteLength);
  const weightDType = [...bytesByDType].sort((a, b) => b[1] - a[1])[0]![0];
  let fingerprint: string | undefined;
  return {
    sourceDir,
    format: llama2c ? 'llama2c' : 'huggingface',
    hfDir,
    config,
    weights,
    tensors,
    tokenizer,
    eosTokenIds: [...new Set([...config.eosTokenIds, ...generationEos(hfDir)])],
    parameters: parameterCount(config),
    weightDType,
    fingerprint: () => (fingerprint ??= backboneFingerprint(config, tensors.values())),
  };
}
