/**
 * The one tiny random LLaMA for tests: configs, deterministic weights, a real Hugging Face model
 * folder (config.json, model.safetensors or shards + index, tokenizer.json + tokenizer_config.json
 * with the stories260K tokenizer converted from ../shared, so the tokenizer is a real 512-token
 * SentencePiece BPE), weight sources for graphs built directly on the engine, and a fixed batch.
 * Weights come from the app's seeded generator: the same options always give identical tensors.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { LlamaConfig } from '../../src-main/backbone/hf/config.js';
import { toHfConfigJson } from '../../src-main/backbone/hf/config.js';
import { expectedLlamaTensors } from '../../src-main/backbone/hf/llama-tensors.js';
import type { WeightDType } from '../../src-main/backbone/hf/safetensors.js';
import { writeModelSafetensors } from '../../src-main/backbone/hf/safetensors-writer.js';
import type { WeightSource } from '../../src-main/backbone/llama/model.js';
import { llamaForward } from '../../src-main/backbone/llama/model.js';
import { findLlama2cFiles } from '../../src-main/backbone/llama2c/convert.js';
import { llama2cTokenizerConfigJson, llama2cTokenizerJson } from '../../src-main/backbone/llama2c/tokenizer-json.js';
import { readLlama2cTokenizer } from '../../src-main/backbone/llama2c/tokenizer.js';
import { seededRandom as seededUniform01 } from '../../src-main/common/random.js';
import type { DType, Tensor } from '../../src-main/engine/index.js';
import {
  Graph,
  readSafetensorsIndex,
  tokenCrossEntropy,
  typedArray,
  writeSafetensors,
} from '../../src-main/engine/index.js';
import { SHARED_DIR } from './paths.js';

export const STORIES_DIR = path.join(SHARED_DIR, 'models', 'stories260K');

/** A model folder's config: the stories260K vocabulary, 2 layers, GQA (2 query heads per kv head). */
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

/** Small enough for float64 finite differences through the whole model. */
export const MICRO_CONFIG: LlamaConfig = {
  ...TINY_CONFIG,
  vocabSize: 13,
  hiddenSize: 8,
  intermediateSize: 12,
  headDim: 2,
  maxPositions: 64,
};

/** Deterministic uniform(-1, 1) numbers, from the app's seeded generator. */
export function seededRandom(seed: number): () => number {
  const uniform = seededUniform01(seed);
  return () => uniform() * 2 - 1;
}

export type TinyWeights = Map<string, { shape: number[]; values: Float32Array }>;

/** Norms near 1, matrices with fan-in scaling so activations stay O(1) through the layers. */
export function tinyWeights(config: LlamaConfig, seed = 1234): TinyWeights {
  const rand = seededRandom(seed);
  const out: TinyWeights = new Map();
  for (const [name, shape] of expectedLlamaTensors(config)) {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isNorm = name.endsWith('norm.weight');
    const scale = isNorm ? 0.2 : name.endsWith('.bias') ? 0.1 : 1 / Math.sqrt(shape[shape.length - 1]!);
    for (let i = 0; i < values.length; i++) values[i] = (isNorm ? 1 : 0) + scale * rand() * Math.sqrt(3);
    out.set(name, { shape: [...shape], values });
  }
  return out;
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
  const tensors = [...tinyWeights(config, options.seed)].map(([name, w]) => ({ name, shape: w.shape, data: w.values }));
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

/** The weights as one float32 .safetensors file (for graphs built directly on the engine). */
export function writeTinySafetensors(file: string, weights: TinyWeights): void {
  writeSafetensors(
    file,
    Object.fromEntries(
      [...weights].map(([name, w]) => [name, { dtype: 'float32' as const, shape: w.shape, data: w.values }]),
    ),
  );
}

/** Weights inline in the given dtype, each made once. */
export function inlineSource(g: Graph, weights: TinyWeights, dtype: DType): WeightSource {
  const cache = new Map<string, Tensor>();
  return (name) => {
    let t = cache.get(name);
    if (!t) {
      const w = weights.get(name);
      if (!w) throw new Error(`no weight ${name}`);
      t = g.weight(name, dtype, w.shape, typedArray(dtype, w.values));
      cache.set(name, t);
    }
    return t;
  };
}

/** Weights as external data by offset into a .safetensors file. */
export function safetensorsSource(g: Graph, file: string): WeightSource {
  const index = readSafetensorsIndex(file);
  const cache = new Map<string, Tensor>();
  return (name) => {
    let t = cache.get(name);
    if (!t) {
      const e = index.get(name);
      if (!e) throw new Error(`no weight ${name} in ${file}`);
      t = g.weight(name, e.dtype, e.shape, e.location);
      cache.set(name, t);
    }
    return t;
  };
}

/** A fixed batch: ids, next-token targets (-100 at each row's end), and a mask from position 1. */
export function tinyBatch(c: Pick<LlamaConfig, 'vocabSize'>, batch: number, tokens: number, seed = 3) {
  const r = seededUniform01(seed);
  const ids = Array.from({ length: batch * tokens }, () => Math.floor(r() * c.vocabSize));
  const targets = ids.map((_, k) => ((k + 1) % tokens === 0 ? -100 : ids[k + 1]!));
  const mask = targets.map((t, k) => (t >= 0 && k % tokens >= 1 ? 1 : 0));
  return { ids, targets, mask, shape: [batch, tokens] };
}

export interface PromptGraph {
  readonly graph: Graph;
  readonly prompt: Tensor;
  readonly loss: Tensor;
}

/** CE of next tokens with a trainable prompt (L, d); inputs ids/targets (batch, tokens) and mask. */
export function promptTuningGraph(
  c: LlamaConfig,
  source: (g: Graph) => WeightSource,
  {
    promptLength,
    dtype = 'float32' as DType,
    computeDtype,
  }: { promptLength: number; dtype?: DType; computeDtype?: DType },
): PromptGraph {
  const graph = new Graph();
  const w = source(graph);
  const prompt = graph.input('prompt', dtype, [promptLength, c.hiddenSize]);
  const ids = graph.input('input_ids', 'int64', ['batch', 'tokens']);
  const targets = graph.input('targets', 'int64', ['batch', 'tokens']);
  const mask = graph.input('loss_mask', dtype, ['batch', 'tokens']);
  const { logits } = llamaForward(c, w, { inputIds: ids, prompt, ...(computeDtype && { dtype: computeDtype }) });
  return { graph, prompt, loss: tokenCrossEntropy(logits, targets, mask) };
}
