/**
 * The LLaMA-family forward pass for inference, with a KV cache, traced on the engine's graph
 * builder and emitted as one ONNX model (transformers' LlamaForCausalLM / Qwen2ForCausalLM
 * forward, modeling_llama.py: RMSNorm, half-rotated RoPE, GQA attention, SwiGLU MLP). RMSNorm and
 * RoPE are the training graph's blocks (llama/graph.ts); attention differs (cache, absolute
 * positions, additive mask) and projections add biases (Qwen2) and LoRA.
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
 * into the model). LoRA deltas (small) are inline constants: W x + (alpha/r) B A x.
 */
import type { ExternalLocation } from '../../engine/external-data.js';
import type { Tensor } from '../../engine/graph.js';
import { Graph } from '../../engine/graph.js';
import {
  add,
  cast,
  concat,
  cos,
  expand,
  gather,
  gatherElements,
  matmul,
  mul,
  reshape,
  sigmoid,
  sin,
  softmax,
  transpose,
  unsqueeze,
} from '../../engine/ops.js';
import type { ModelOutput } from '../../engine/serialize.js';
import type { LlamaConfig } from '../hf/config.js';
import { ropeInverseFrequencies } from '../hf/rope.js';
import type { RopeTables } from '../llama/graph.js';
import { rmsNorm, rope } from '../llama/graph.js';
import { EMBED_TOKENS, FINAL_NORM, LM_HEAD, layerTensorNames } from '../hf/llama-tensors.js';
import type { TensorEntry } from '../hf/safetensors.js';

/** A LoRA adapter on one projection: delta W = scaling * B A (PEFT's lora_A, lora_B). */
export interface LoraWeights {
  readonly a: Float32Array; // lora_A (r, in)
  readonly b: Float32Array; // lora_B (out, r)
  readonly rank: number;
  readonly scaling: number; // alpha / r (alpha / sqrt(r) for rsLoRA)
}

/** LoRA adapters keyed by full projection name, e.g. "model.layers.0.self_attn.q_proj". */
export type LoraSet = ReadonlyMap<string, LoraWeights>;

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

/** A frozen weight as external data, cast in the graph when stored in another float width. */
function weight(g: Graph, entry: TensorEntry, dtype: ComputeDType): Tensor {
  const location: ExternalLocation = { path: entry.file, offset: entry.offset, length: entry.byteLength };
  const stored = entry.dtype === 'F32' ? F32 : entry.dtype === 'F16' ? 'float16' : undefined;
  if (!stored)
    throw new Error(`${entry.name}: ${entry.dtype} weights must be widened before graph building (see widen.ts)`);
  const w = g.weight(entry.name, stored, entry.shape, location);
  return stored === dtype ? w : cast(w, dtype);
}

/** x @ W^T (+ bias) (+ LoRA): x (B, S, in), W (out, in) -> (B, S, out) */
function linear(g: Graph, x: Tensor, w: Tensor, bias?: Tensor, lora?: LoraWeights): Tensor {
  let y = matmul(x, w, { transB: true });
  if (bias) y = add(y, bias);
  if (lora) {
    const out = w.shape[0] as number;
    const inn = w.shape[1] as number;
    const a = cast(g.constant(lora.a, F32, [lora.rank, inn]), w.dtype);
    const b = cast(g.constant(lora.b, F32, [out, lora.rank]), w.dtype);
    // (x A^T) B^T * scaling: two thin products instead of materialising B A
    y = add(y, matmul(matmul(x, a, { transB: true }), b, { transB: true, alpha: lora.scaling }));
  }
  return y;
}

export function buildInferenceGraph(
  c: LlamaConfig,
  tensors: ReadonlyMap<string, TensorEntry>,
  options: { lora?: LoraSet; dtype?: ComputeDType } = {},
): InferenceGraph {
  const g = new Graph();
  const D = options.dtype ?? F32;
  const t = (name: string) => {
    const e = tensors.get(name);
    if (!e) throw new Error(`inference graph: tensor ${name} missing from the checked tensor map`);
    return weight(g, e, D);
  };
  const lora = options.lora ?? new Map<string, LoraWeights>();
  const { hiddenSize: d, numHeads: H, numKvHeads: KV, headDim: h } = c;
  const rep = H / KV;

  const inputIds = g.input('input_ids', 'int64', ['batch', 'tokens']);
  const prefix = g.input('prefix_embeds', F32, ['batch', 'prefix', d]);
  const positionIds = g.input('position_ids', 'int64', ['batch', 'seq']);
  const mask = g.input('attention_mask', F32, ['batch', 1, 'seq', 'past+seq']);
  const logitPositions = g.input('logit_positions', 'int64', ['batch', 'picked']);

  const embedTable = t(EMBED_TOKENS); // (vocab, d)
  // (B, S, d); the reshape names the concatenated axis 'seq' so later shapes line up by name
  let x = reshape(concat([cast(prefix, D), gather(embedTable, inputIds)], 1), ['batch', 'seq', d]);

  // RoPE tables from positions, in float32 as transformers computes them: (B, 1, S, h)
  const invFreq = g.constant(Float32Array.from(ropeInverseFrequencies(c)), F32, [h / 2]);
  const angles = mul(unsqueeze(cast(positionIds, F32), [2]), invFreq); // (B, S, h/2)
  const emb = unsqueeze(concat([angles, angles], -1), [1]); // (B, 1, S, h)
  const tables: RopeTables = { cos: cast(cos(emb), D), sin: cast(sin(emb), D) };
  // mask broadcast over kv heads and the query heads that share them: (B, 1, 1, S, P+S)
  const mask5 = unsqueeze(cast(mask, D), [2]); // float16: the -3.4e38 fill becomes -inf, still exp() = 0

  const outputs: ModelOutput[] = [];
  for (let i = 0; i < c.numLayers; i++) {
    const n = layerTensorNames(i);
    const proj = (name: string) => lora.get(name.replace(/\.weight$/, ''));
    const bias = (name: string) => (c.attentionBias ? t(name) : undefined);

    // --- attention ---
    const xn = rmsNorm(x, t(n.inputNorm), c.rmsNormEps);
    const heads = (y: Tensor, count: number) => transpose(reshape(y, ['batch', 'seq', count, h]), [0, 2, 1, 3]); // (B, count, S, h)
    const q = rope(heads(linear(g, xn, t(n.q), bias(n.qBias), proj(n.q)), H), tables); // (B, H, S, h)
    const kNew = rope(heads(linear(g, xn, t(n.k), bias(n.kBias), proj(n.k)), KV), tables); // (B, KV, S, h)
    const vNew = heads(linear(g, xn, t(n.v), bias(n.vBias), proj(n.v)), KV);
    const k = concat([g.input(PAST_KEY(i), D, ['batch', KV, 'past', h]), kNew], 2); // (B, KV, P+S, h)
    const v = concat([g.input(PAST_VALUE(i), D, ['batch', KV, 'past', h]), vNew], 2);
    outputs.push({ name: PRESENT_KEY(i), tensor: k }, { name: PRESENT_VALUE(i), tensor: v });
    // GQA without copying k/v: query heads grouped by the kv head they share
    const q5 = reshape(q, ['batch', KV, rep, 'seq', h]); // (B, KV, rep, S, h)
    const scores = add(matmul(q5, unsqueeze(k, [2]), { transB: true, alpha: 1 / Math.sqrt(h) }), mask5); // (B, KV, rep, S, P+S)
    const attn = matmul(softmax(scores, -1), unsqueeze(v, [2])); // (B, KV, rep, S, h)
    const merged = reshape(transpose(reshape(attn, ['batch', H, 'seq', h]), [0, 2, 1, 3]), ['batch', 'seq', H * h]);
    x = add(x, linear(g, merged, t(n.o), undefined, proj(n.o)));

    // --- SwiGLU MLP ---
    const xm = rmsNorm(x, t(n.postNorm), c.rmsNormEps);
    const gate = linear(g, xm, t(n.gate), undefined, proj(n.gate));
    const up = linear(g, xm, t(n.up), undefined, proj(n.up));
    x = add(x, linear(g, mul(mul(gate, sigmoid(gate)), up), t(n.down), undefined, proj(n.down)));
  }

  const final = rmsNorm(x, t(FINAL_NORM), c.rmsNormEps); // (B, S, d)
  // hidden states at the requested positions only: (B, K, d)
  const index = expand(unsqueeze(logitPositions, [2]), ['batch', 'picked', d]);
  const picked = gatherElements(final, index, 1);
  const head = c.tieWordEmbeddings ? embedTable : t(LM_HEAD);
  const logits = cast(matmul(picked, head, { transB: true }), F32); // (B, K, vocab), float32 for sampling
  return { graph: g, outputs: [{ name: 'logits', tensor: logits }, ...outputs] };
}
