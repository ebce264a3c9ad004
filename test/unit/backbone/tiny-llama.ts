/**
 * Builds a real Hugging Face model folder with random weights for tests: config.json,
 * model.safetensors (or shards + index), tokenizer.json + tokenizer_config.json (the stories260K
 * tokenizer converted from ../shared, so the tokenizer is a real 512-token SentencePiece BPE).
 * Weights come from a seeded generator, so two calls with the same options give identical files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { LlamaConfig } from '../../../src-main/backbone/hf/config.js';
import { toHfConfigJson } from '../../../src-main/backbone/hf/config.js';
import { expectedLlamaTensors } from '../../../src-main/backbone/hf/llama-tensors.js';
import type { WeightDType } from '../../../src-main/backbone/hf/safetensors.js';
import { writeModelSafetensors } from '../../../src-main/backbone/hf/safetensors-writer.js';
import { findLlama2cFiles } from '../../../src-main/backbone/llama2c/convert.js';
import { llama2cTokenizerConfigJson, llama2cTokenizerJson } from '../../../src-main/backbone/llama2c/tokenizer-json.js';
import { readLlama2cTokenizer } from '../../../src-main/backbone/llama2c/tokenizer.js';
import { SHARED_DIR } from '../../support/paths.js';
import { seededRandom as seededUniform01 } from '../../../src-main/common/random.js';

export const STORIES_DIR = path.join(SHARED_DIR, 'models', 'stories260K');

export const TINY_CONFIG: LlamaConfig = {
  architecture: 'llama',
  vocabSize: 512,
  hiddenSize: 32,
  intermediateSize: 48,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 8,
  maxPositions: 128,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  ropeScaling: { type: 'default' },
  tieWordEmbeddings: false,
  attentionBias: false,
  bosTokenId: 1,
  eosTokenIds: [2],
  slidingWindow: undefined,
  torchDtype: 'float32',
};

/** Deterministic uniform(-1, 1) numbers, from the app's seeded generator. */
export function seededRandom(seed: number): () => number {
  const uniform = seededUniform01(seed);
  return () => uniform() * 2 - 1;
}

export interface TinyFolderOptions {
  readonly config?: Partial<LlamaConfig>;
  readonly dtype?: WeightDType;
  readonly shards?: number;
  readonly seed?: number;
}

/** Writes the folder into `dir`; returns the config it holds. */
export function writeTinyLlamaFolder(dir: string, options: TinyFolderOptions = {}): LlamaConfig {
  const config: LlamaConfig = { ...TINY_CONFIG, ...options.config };
  mkdirSync(dir, { recursive: true });
  const rand = seededRandom(options.seed ?? 1234);
  const tensors = [...expectedLlamaTensors(config)].map(([name, shape]) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    // norms near 1, matrices with fan-in scaling so activations stay O(1) through the layers
    const isNorm = name.endsWith('norm.weight');
    const scale = isNorm ? 0.2 : name.endsWith('.bias') ? 0.1 : 1 / Math.sqrt(shape[shape.length - 1]!);
    for (let i = 0; i < data.length; i++) data[i] = (isNorm ? 1 : 0) + scale * rand() * Math.sqrt(3);
    return { name, shape, data };
  });
  writeModelSafetensors(dir, tensors, { dtype: options.dtype ?? 'F32', shards: options.shards ?? 1 });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(toHfConfigJson(config), null, 2));
  const files = findLlama2cFiles(STORIES_DIR)!;
  const vocab = readLlama2cTokenizer(files.tokenizerFile, 512);
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(llama2cTokenizerJson(vocab)));
  writeFileSync(
    path.join(dir, 'tokenizer_config.json'),
    JSON.stringify({
      ...llama2cTokenizerConfigJson(config.maxPositions),
      chat_template:
        "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}User: {{ m['content'] }}\n{% else %}Assistant: {{ m['content'] }}{{ eos_token }}\n{% endif %}{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}",
    }),
  );
  return config;
}
