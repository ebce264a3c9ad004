/**
 * The LLaMA-family decoder (LLaMA 2/3, Mistral, Qwen2) written once with the engine's graph
 * builder, in reading order: config, weights, RMSNorm, rotary embedding, attention, SwiGLU MLP,
 * the decoder layer, and the model. Training graphs (peft/) and generation (backbone/generate/)
 * both call `decoder`; there is no second forward.
 * Follows transformers' modeling_llama.py (LlamaRMSNorm, apply_rotary_pos_emb, repeat_kv,
 * LlamaAttention, LlamaMLP, LlamaDecoderLayer, LlamaForCausalLM) and Qwen2's q/k/v biases.
 *
 * RoPE layout: Hugging Face's half-rotated one (`rotate_half`: dimension i pairs with
 * i + head_dim/2). llama2.c checkpoints use interleaved pairs and are permuted on conversion
 * (llama2c/convert.ts), as llama2.c's export.py does.
 *
 * Two seams let methods plug in without touching this file:
 * - a WeightSource maps each HF tensor name to a graph tensor: a frozen weight (external data
 *   pointing into .safetensors), an inline constant, or a trainable graph input (full fine-tuning);
 * - a LinearHook sees every linear layer's input and output and may add to it (LoRA's delta).
 * Projections multiply by W[out, in] through FusedMatMul's transB: never a Transpose of a weight.
 *
 * Shapes: B batch, T tokens, L soft-prompt length, S = L + T positions computed, P cached
 * positions, d hidden, H heads, KV kv heads, h head_dim, V vocabulary.
 */
import type { DType, Tensor } from '../../engine/index.js';
import * as op from '../../engine/index.js';
import type { LlamaConfig } from '../hf/config.js';
import { ropeInverseFrequencies } from '../hf/rope.js';
import { EMBED_TOKENS, FINAL_NORM, LM_HEAD, layerTensorNames } from '../hf/llama-tensors.js';

/** The config fields the forward reads (one source: backbone/hf/config.ts). */
export type LlamaShape = Pick<
  LlamaConfig,
  | 'vocabSize'
  | 'hiddenSize'
  | 'intermediateSize'
  | 'numLayers'
  | 'numHeads'
  | 'numKvHeads'
  | 'headDim'
  | 'rmsNormEps'
  | 'ropeTheta'
  | 'ropeScaling'
  | 'tieWordEmbeddings'
  | 'attentionBias'
>;

/** HF tensor name -> graph tensor (frozen weight, constant, or trainable input). */
export type WeightSource = (name: string) => Tensor;

/**
 * Called for every linear layer with its module name (e.g. "model.layers.0.self_attn.q_proj"),
 * its input x (..., in) and its output y = x W^T + b (..., out); returns the layer's output.
 */
export type LinearHook = (module: string, x: Tensor, y: Tensor) => Tensor;

// ---------------------------------------------------------------------------------------------
// blocks
// ---------------------------------------------------------------------------------------------

/** RMSNorm over the last axis, in float32 for half inputs (as LlamaRMSNorm). x: (..., d) */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  const inner: DType = x.dtype === 'float16' ? 'float32' : x.dtype;
  const h = op.cast(x, inner);
  const inv = op.reciprocal(op.sqrt(op.add(op.reduceMean(op.mul(h, h), [-1], true), eps)));
  return op.mul(op.cast(op.mul(h, inv), x.dtype), weight);
}

export interface RopeTables {
  readonly cos: Tensor; // (S, h) or (B, 1, S, h): broadcasts over (B, heads, S, h)
  readonly sin: Tensor;
}

/** cos/sin of position * inv_freq (emb = cat(freqs, freqs)); positions (S) or (B, S), int64. */
export function ropeTables(positions: Tensor, c: LlamaShape, dtype: DType): RopeTables {
  const angleDtype: DType = dtype === 'float64' ? 'float64' : 'float32'; // transformers: float32
  const inv = ropeInverseFrequencies(c);
  const freqs = positions.graph.constant(op.typedArray(angleDtype, inv), angleDtype, [inv.length]);
  const angles = op.mul(op.unsqueeze(op.cast(positions, angleDtype), [-1]), freqs); // (..., S, h/2)
  let emb = op.concat([angles, angles], -1); // (..., S, h)
  if (positions.rank === 2) emb = op.unsqueeze(emb, [1]); // (B, 1, S, h)
  return { cos: op.cast(op.cos(emb), dtype), sin: op.cast(op.sin(emb), dtype) };
}

/** x * cos + rotate_half(x) * sin, x: (B, heads, S, h). */
export function rope(x: Tensor, t: RopeTables): Tensor {
  const half = (x.shape.at(-1) as number) / 2;
  const [x1, x2] = op.split(x, [half, half], -1);
  return op.add(op.mul(x, t.cos), op.mul(op.concat([op.neg(x2!), x1!], -1), t.sin));
}

/**
 * The additive attention mask of a sequence computed from scratch (no cache): (B, 1, S, S),
 * 0 where query i may attend key j (j <= i, key not padding), the dtype's lowest finite value
 * elsewhere (not -inf, so a fully masked row stays finite). x: (B, S, d) embeddings;
 * padding: (B, T) 1 for real tokens, 0 for padding; the L prompt positions are never padding.
 */
export function causalMask(x: Tensor, padding?: Tensor, promptLength = 0): Tensor {
  const pos = op.arangeOf(x, 1);
  let blocked = op.greater(op.unsqueeze(pos, [0]), op.unsqueeze(pos, [1])); // (S, S)
  if (padding) {
    let padded = op.equal(op.cast(padding, 'float32'), 0); // (B, T)
    if (promptLength > 0) {
      const none = x.graph.constant(new Uint8Array(promptLength), 'bool', [1, promptLength]);
      padded = op.concat([op.expandBatch(none, padding), padded], 1); // (B, S)
    }
    blocked = op.or(blocked, op.unsqueeze(padded, [1, 2])); // (B, 1, S, S)
  }
  const zero = x.graph.constant(op.typedArray(x.dtype, [0]), x.dtype, []);
  return op.where(blocked, op.lowestFinite(x.dtype), zero);
}

/** Past keys and values of one layer: (B, KV, P, h) each. */
export interface LayerCache {
  readonly key: Tensor;
  readonly value: Tensor;
}

interface LayerContext {
  readonly c: LlamaShape;
  readonly w: WeightSource;
  readonly hook: LinearHook | undefined;
  readonly rope: RopeTables;
  /** Additive, broadcastable to (B, H, S, P + S). */
  readonly mask: Tensor;
}

/** nn.Linear: y = x W^T (+ b) for W (out, in), then the method's hook. */
function linear(ctx: LayerContext, module: string, x: Tensor, bias = false): Tensor {
  let y = op.matmul(x, ctx.w(`${module}.weight`), { transB: true });
  if (bias) y = op.add(y, ctx.w(`${module}.bias`));
  return ctx.hook ? ctx.hook(module, x, y) : y;
}

/**
 * Grouped-query self-attention, x: (B, S, d) -> (B, S, d), and this layer's keys and values
 * (B, KV, P + S, h). Query heads are grouped per kv head (head i uses kv head floor(i / rep), as
 * repeat_kv) by folding them into rows, (B, KV, rep*S, h), instead of copying k and v rep times.
 */
function attention(
  ctx: LayerContext,
  prefix: string,
  x: Tensor,
  past?: LayerCache,
): { out: Tensor; cache: LayerCache } {
  const { numHeads: H, numKvHeads: KV, headDim: h, attentionBias } = ctx.c;
  const rep = H / KV;
  const [b, s] = [x.shape[0]!, x.shape[1]!];
  const heads = (y: Tensor, n: number): Tensor => op.transpose(op.reshape(y, [b, s, n, h]), [0, 2, 1, 3]);
  const q = rope(heads(linear(ctx, `${prefix}.q_proj`, x, attentionBias), H), ctx.rope); // (B, H, S, h)
  let k = rope(heads(linear(ctx, `${prefix}.k_proj`, x, attentionBias), KV), ctx.rope); // (B, KV, S, h)
  let v = heads(linear(ctx, `${prefix}.v_proj`, x, attentionBias), KV); // (B, KV, S, h)
  if (past) {
    k = op.concat([past.key, k], 2); // (B, KV, P + S, h)
    v = op.concat([past.value, v], 2);
  }
  const keys = k.shape[2]!;
  const grouped = typeof s === 'number' ? rep * s : rep === 1 ? s : `${rep}*${s}`;
  const qg = op.reshape(q, [b, KV, grouped, h]); // (B, KV, rep*S, h)
  const scores = op.matmul(qg, k, { transB: true, alpha: 1 / Math.sqrt(h) }); // (B, KV, rep*S, P+S)
  const masked = op.add(op.reshape(scores, [b, H, s, keys]), ctx.mask); // (B, H, S, P+S)
  const probs = op.reshape(op.softmax(masked, -1), [b, KV, grouped, keys]);
  const context = op.reshape(op.matmul(probs, v), [b, H, s, h]); // (B, H, S, h)
  const merged = op.reshape(op.transpose(context, [0, 2, 1, 3]), [b, s, H * h]); // (B, S, H*h)
  return { out: linear(ctx, `${prefix}.o_proj`, merged), cache: { key: k, value: v } };
}

/** SwiGLU: down(silu(gate(x)) * up(x)). */
function mlp(ctx: LayerContext, prefix: string, x: Tensor): Tensor {
  const gate = linear(ctx, `${prefix}.gate_proj`, x);
  const up = linear(ctx, `${prefix}.up_proj`, x);
  return linear(ctx, `${prefix}.down_proj`, op.mul(op.mul(gate, op.sigmoid(gate)), up));
}

function decoderLayer(ctx: LayerContext, layer: number, x: Tensor, past?: LayerCache) {
  const n = layerTensorNames(layer);
  const prefix = `model.layers.${layer}`;
  const eps = ctx.c.rmsNormEps;
  const attn = attention(ctx, `${prefix}.self_attn`, rmsNorm(x, ctx.w(n.inputNorm), eps), past);
  const h = op.add(x, attn.out);
  const out = op.add(h, mlp(ctx, `${prefix}.mlp`, rmsNorm(h, ctx.w(n.postNorm), eps)));
  return { out, cache: attn.cache };
}

// ---------------------------------------------------------------------------------------------
// the model
// ---------------------------------------------------------------------------------------------

/**
 * Token embeddings with a soft prompt prepended: (B, L + T, d) in the compute dtype.
 * prompt: (L, d) shared by the batch, or (B, L, d); cast to the compute dtype.
 */
export function embed(w: WeightSource, inputIds: Tensor, prompt?: Tensor, dtype?: DType): Tensor {
  const table = w(EMBED_TOKENS); // (V, d)
  const d = dtype ?? table.dtype;
  const tokens = op.cast(op.gather(table, inputIds, 0), d); // (B, T, d)
  if (!prompt) return tokens;
  const p = op.cast(prompt, d);
  const batched = p.rank === 3 ? p : op.expandBatch(op.unsqueeze(p, [0]), inputIds);
  return op.concat([batched, tokens], 1);
}

export interface DecoderOptions {
  /** Absolute positions for RoPE, (S) or (B, S) int64; default 0..S-1. */
  readonly positions?: Tensor;
  /** Additive mask broadcastable to (B, H, S, P + S); default causalMask(x). */
  readonly mask?: Tensor;
  /** Per-layer past keys/values; when given, every layer returns its extended cache. */
  readonly past?: (layer: number) => LayerCache;
  readonly hook?: LinearHook;
}

export interface DecoderOutputs {
  /** Final-norm hidden states at every computed position: (B, S, d). */
  readonly states: Tensor;
  /** Per layer keys and values including the past: (B, KV, P + S, h). */
  readonly present: readonly LayerCache[];
}

/** The decoder stack over embeddings x (B, S, d), in x's dtype. */
export function decoder(c: LlamaShape, w: WeightSource, x: Tensor, options: DecoderOptions = {}): DecoderOutputs {
  const { out, present } = decoderLayers(c, w, x, 0, c.numLayers, options);
  return { states: rmsNorm(out, w(FINAL_NORM), c.rmsNormEps), present };
}

/**
 * Layers [from, to) of the stack over hidden states x (B, S, d), without the final norm, and each
 * layer's output: the whole stack for `decoder`, part of it for gradient checkpointing (peft/full/).
 */
export function decoderLayers(
  c: LlamaShape,
  w: WeightSource,
  x: Tensor,
  from: number,
  to: number,
  options: DecoderOptions = {},
): { out: Tensor; outputs: Tensor[]; present: LayerCache[] } {
  const ctx: LayerContext = {
    c,
    w,
    hook: options.hook,
    rope: ropeTables(options.positions ?? op.arangeOf(x, 1), c, x.dtype),
    mask: options.mask ?? causalMask(x),
  };
  const present: LayerCache[] = [];
  const outputs: Tensor[] = [];
  for (let l = from; l < to; l++) {
    const layer = decoderLayer(ctx, l, x, options.past?.(l));
    x = layer.out;
    outputs.push(x);
    present.push(layer.cache);
  }
  return { out: x, outputs, present };
}

/** Next-token logits (..., V) of final hidden states (..., d). */
export function lmHead(c: LlamaShape, w: WeightSource, hidden: Tensor): Tensor {
  return op.matmul(hidden, w(c.tieWordEmbeddings ? EMBED_TOKENS : LM_HEAD), { transB: true });
}

/** Logits of final-norm states (B, T, d): at every position, (B, T, V), or at `at`'s flat positions, (N, V). */
export function logitsOf(c: LlamaShape, w: WeightSource, states: Tensor, at?: Tensor): Tensor {
  return lmHead(c, w, at ? op.gather(op.reshape(states, [-1, c.hiddenSize]), at, 0) : states);
}

export interface ForwardInputs {
  /** Token ids (B, T), int64. */
  readonly inputIds: Tensor;
  /** Soft prompt (L, d) or (B, L, d), prepended to the token embeddings. */
  readonly prompt?: Tensor;
  /** Compute dtype (default: the embedding weight's). */
  readonly dtype?: DType;
  /**
   * (B, T): 1 for real tokens, 0 for padding (padded keys are masked).
   * Without it, pad on the right: causal attention never lets a real token see a later pad.
   */
  readonly attentionMask?: Tensor;
  readonly hook?: LinearHook;
  /**
   * Flat indices into (B * T) of the only positions whose logits are wanted (int64, (N)). Training
   * passes the positions that carry loss: the LM head and its backward over a 32,000-token
   * vocabulary are then paid for a task's answer tokens, not for every token of its input.
   */
  readonly logitsAt?: Tensor;
}

export interface ForwardOutputs {
  /** Final-norm hidden states at the token positions (prompt positions dropped): (B, T, d). */
  readonly hidden: Tensor;
  /** Next-token logits at the token positions, (B, T, V), or at `logitsAt`'s positions, (N, V). */
  readonly logits: Tensor;
}

/** The whole sequence at once, as training computes it (no cache). */
export function llamaForward(c: LlamaShape, w: WeightSource, inputs: ForwardInputs): ForwardOutputs {
  const x = embed(w, inputs.inputIds, inputs.prompt, inputs.dtype);
  const promptLength = inputs.prompt ? (inputs.prompt.shape.at(-2) as number) : 0;
  const { states } = decoder(c, w, x, {
    mask: causalMask(x, inputs.attentionMask, promptLength),
    ...(inputs.hook && { hook: inputs.hook }),
  });
  const hidden = promptLength ? op.slice(states, [promptLength], [op.TO_END], [1]) : states;
  return { hidden, logits: logitsOf(c, w, hidden, inputs.logitsAt) };
}
