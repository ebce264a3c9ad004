/**
 * A tiny random LLaMA-style model for engine tests: config, deterministic weights (optionally
 * written to a .safetensors file), and a prompt-tuning training graph built on it.
 */
import type { LlamaGraphConfig, WeightSource } from '../../../src-main/backbone/llama/graph.js';
import { llamaForward, llamaWeightShapes } from '../../../src-main/backbone/llama/graph.js';
import type { DType, Tensor } from '../../../src-main/engine/index.js';
import {
  Graph,
  readSafetensorsIndex,
  tokenCrossEntropy,
  typedArray,
  writeSafetensors,
} from '../../../src-main/engine/index.js';
import { random } from '../../unit/engine/gradcheck.js';

export const TINY: LlamaGraphConfig = {
  vocabSize: 13,
  hiddenSize: 8,
  intermediateSize: 12,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2, // GQA: 2 query heads per kv head
  headDim: 2,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  tieWordEmbeddings: false,
};

/** Deterministic weights: norms near 1, matrices with std ~ 1/sqrt(fan_in). */
export function tinyWeights(c: LlamaGraphConfig, seed = 7): Map<string, { shape: number[]; values: number[] }> {
  const r = random(seed);
  const out = new Map<string, { shape: number[]; values: number[] }>();
  for (const [name, shape] of llamaWeightShapes(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const isNorm = shape.length === 1;
    const scale = isNorm ? 0.2 : Math.sqrt(3 / shape[1]!) * (name.includes('embed') ? 2 : 1);
    out.set(name, { shape, values: Array.from({ length: n }, () => (isNorm ? 1 : 0) + scale * r()) });
  }
  return out;
}

export function writeTinySafetensors(path: string, weights: ReturnType<typeof tinyWeights>): void {
  writeSafetensors(
    path,
    Object.fromEntries(
      [...weights].map(([name, w]) => [
        name,
        { dtype: 'float32' as const, shape: w.shape, data: Float32Array.from(w.values) },
      ]),
    ),
  );
}

/** Weights inline in the given dtype. */
export function inlineSource(g: Graph, weights: ReturnType<typeof tinyWeights>, dtype: DType): WeightSource {
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
export function safetensorsSource(g: Graph, path: string): WeightSource {
  const index = readSafetensorsIndex(path);
  const cache = new Map<string, Tensor>();
  return (name) => {
    let t = cache.get(name);
    if (!t) {
      const e = index.get(name);
      if (!e) throw new Error(`no weight ${name} in ${path}`);
      t = g.weight(name, e.dtype, e.shape, e.location);
      cache.set(name, t);
    }
    return t;
  };
}

export interface PromptGraph {
  readonly graph: Graph;
  readonly prompt: Tensor;
  readonly loss: Tensor;
}

/** CE of next tokens with a trainable prompt (L, d); inputs ids/targets (batch, tokens) and mask. */
export function promptTuningGraph(
  c: LlamaGraphConfig,
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

/** A fixed batch: ids, next-token targets, and a mask over the last positions. */
export function tinyBatch(c: LlamaGraphConfig, batch: number, tokens: number, seed = 3) {
  const r = random(seed);
  const ids = Array.from({ length: batch * tokens }, () => Math.floor(r(0, c.vocabSize)));
  const targets = ids.map((_, k) => ((k + 1) % tokens === 0 ? -100 : ids[k + 1]!));
  const mask = targets.map((t, k) => (t >= 0 && k % tokens >= 1 ? 1 : 0));
  return { ids, targets, mask, shape: [batch, tokens] };
}
