/**
 * The generation graph: the LLaMA-family decoder (llama/model.ts) with a KV cache, traced on the
 * engine's graph builder and emitted as one ONNX model. This file only names the model's inputs
 * and outputs; every block is llama/model.ts's.
 *
 * Inputs (B = batch, T = new positions, P = cached positions, d = hidden, h = head_dim):
 *   input_ids       int64   (B, T)
 *   prefix_embeds   float32 (B, Lp, d)   soft prompt prepended before the tokens (Lp may be 0);
 *                                        the sequence below is S = Lp + T
 *   position_ids    int64   (B, S)       absolute positions (RoPE), chosen by the caller
 *   attention_mask  float32 (B, 1, S, P+S)  additive: 0 where attending is allowed, -3.4e38 elsewhere
 *   logit_positions int64   (B, K)       which of the S positions get logits
 *   past_key.i / past_value.i D (B, kv_heads, P, h) per layer, D = the compute dtype
 * Outputs:
 *   logits  float32 (B, K, vocab)
 *   present_key.i / present_value.i D (B, kv_heads, P+S, h)
 *
 * Frozen weights are external data pointing into the checkpoint's .safetensors (never copied
 * into the model). A method (peft/) may wrap the weights (merged LoRA) or hook every linear layer
 * (unmerged LoRA): the backbone knows no method.
 */
import type { ExternalLocation } from '../../engine/external-data.js';
import type { Tensor } from '../../engine/graph.js';
import { Graph } from '../../engine/graph.js';
import { cast, expand, gatherElements, reshape, unsqueeze } from '../../engine/ops.js';
import type { ModelOutput } from '../../engine/serialize.js';
import type { LlamaConfig } from '../hf/config.js';
import type { TensorEntry } from '../hf/safetensors.js';
import type { LinearHook, WeightSource } from '../llama/model.js';
import { decoder, embed, lmHead } from '../llama/model.js';

export const PAST_KEY = (i: number): string => `past_key.${i}`;
export const PAST_VALUE = (i: number): string => `past_value.${i}`;
export const PRESENT_KEY = (i: number): string => `present_key.${i}`;
export const PRESENT_VALUE = (i: number): string => `present_value.${i}`;

export interface InferenceGraph {
  readonly graph: Graph;
  readonly outputs: readonly ModelOutput[];
}

const F32 = 'float32';

/** float32 everywhere (CPU), or float16 weights, activations and KV cache (GPU providers). */
export type ComputeDType = 'float32' | 'float16';

/**
 * What a method adds to the backbone at inference, built into the graph: it may wrap the
 * weight source (e.g. a merged LoRA: W + s B A) and hook every linear layer (unmerged LoRA).
 */
export interface GraphAdapter {
  readonly weights?: (g: Graph, base: WeightSource, dtype: ComputeDType) => WeightSource;
  readonly hook?: (g: Graph) => LinearHook;
}

/** A frozen weight as external data, cast in the graph when stored in another float width. */
function weight(g: Graph, entry: TensorEntry, dtype: ComputeDType): Tensor {
  const location: ExternalLocation = { path: entry.file, offset: entry.offset, length: entry.byteLength };
  const stored = entry.dtype === 'F32' ? F32 : entry.dtype === 'F16' ? 'float16' : undefined;
  if (!stored)
    throw new Error(`${entry.name}: ${entry.dtype} weights must be widened before graph building (see widen.ts)`);
  const w = g.weight(entry.name, stored, entry.shape, location);
  return stored === dtype ? w : cast(w, dtype);
}

/** Frozen checkpoint weights, each made once. */
export function checkpointWeights(
  g: Graph,
  tensors: ReadonlyMap<string, TensorEntry>,
  dtype: ComputeDType,
): WeightSource {
  const made = new Map<string, Tensor>();
  return (name) => {
    let t = made.get(name);
    if (!t) {
      const e = tensors.get(name);
      if (!e) throw new Error(`inference graph: tensor ${name} missing from the checked tensor map`);
      t = weight(g, e, dtype);
      made.set(name, t);
    }
    return t;
  };
}

export function buildInferenceGraph(
  c: LlamaConfig,
  tensors: ReadonlyMap<string, TensorEntry>,
  options: { adapter?: GraphAdapter; dtype?: ComputeDType } = {},
): InferenceGraph {
  const g = new Graph();
  const D = options.dtype ?? F32;
  const base = checkpointWeights(g, tensors, D);
  const w = options.adapter?.weights ? options.adapter.weights(g, base, D) : base;
  const hook = options.adapter?.hook?.(g);
  const { hiddenSize: d, numKvHeads: KV, headDim: h } = c;

  const inputIds = g.input('input_ids', 'int64', ['batch', 'tokens']);
  const prefix = g.input('prefix_embeds', F32, ['batch', 'prefix', d]);
  const positionIds = g.input('position_ids', 'int64', ['batch', 'seq']);
  const mask = g.input('attention_mask', F32, ['batch', 1, 'seq', 'past+seq']);
  const logitPositions = g.input('logit_positions', 'int64', ['batch', 'picked']);
  const past = Array.from({ length: c.numLayers }, (_, i) => ({
    key: g.input(PAST_KEY(i), D, ['batch', KV, 'past', h]),
    value: g.input(PAST_VALUE(i), D, ['batch', KV, 'past', h]),
  }));

  // (B, S, d); the reshape names the concatenated axis 'seq' so later shapes line up by name
  const x = reshape(embed(w, inputIds, prefix, D), ['batch', 'seq', d]);
  // float16: the -3.4e38 fill becomes -inf, still exp() = 0
  const { states, present } = decoder(c, w, x, {
    positions: positionIds,
    mask: cast(mask, D),
    past: (i) => past[i]!,
    ...(hook && { hook }),
  });
  // hidden states at the requested positions only: (B, K, d)
  const index = expand(unsqueeze(logitPositions, [2]), ['batch', 'picked', d]);
  const logits = cast(lmHead(c, w, gatherElements(states, index, 1)), F32); // (B, K, V), float32 for sampling
  const outputs: ModelOutput[] = [{ name: 'logits', tensor: logits }];
  present.forEach((layer, i) =>
    outputs.push({ name: PRESENT_KEY(i), tensor: layer.key }, { name: PRESENT_VALUE(i), tensor: layer.value }),
  );
  return { graph: g, outputs };
}
