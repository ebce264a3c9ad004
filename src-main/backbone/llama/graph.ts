/**
 * The LLaMA-architecture forward pass written with the engine's graph builder, in dependency
 * order: RMSNorm, rotary embedding, grouped-query attention with a causal mask, SwiGLU MLP, the
 * decoder layer, and the model with a soft prompt prepended to the input embeddings.
 * Follows transformers' modeling_llama.py (LlamaRMSNorm, apply_rotary_pos_emb, repeat_kv,
 * LlamaAttention, LlamaMLP, LlamaDecoderLayer, LlamaForCausalLM) and Touvron et al. 2023.
 *
 * RoPE layout: Hugging Face's half-rotated one (`rotate_half`: dimension i pairs with
 * i + head_dim/2). llama2.c checkpoints use the interleaved layout; their loader must permute
 * wq/wk rows as llama2.c's export.py (`permute_reverse`) does before handing weights here.
 *
 * Weights come from a WeightSource (HF tensor names -> graph tensors, usually external data
 * pointing into .safetensors files), so the inference/KV-cache graph can reuse these blocks.
 * Projections multiply by W[out, in] through FusedMatMul's transB: no Transpose of a weight.
 */
import type { Dim, DType, Tensor } from '../../engine/index.js';
import * as op from '../../engine/index.js';

/** The fields of the model config the graph needs (names as in backbone/hf/config.ts). */
export interface LlamaGraphConfig {
  readonly vocabSize: number;
  readonly hiddenSize: number; // d
  readonly intermediateSize: number; // SwiGLU width
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number; // GQA: numHeads % numKvHeads === 0
  readonly headDim: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly tieWordEmbeddings: boolean;
  /** inv_freq (headDim/2), e.g. from backbone/hf/rope.ts for scaled RoPE; default theta^(-2i/headDim). */
  readonly ropeInvFreq?: Float64Array;
}

/** HF tensor name -> graph tensor (a frozen weight, or a trainable input for LoRA/full fine-tuning). */
export type WeightSource = (name: string) => Tensor;

// ---------------------------------------------------------------------------------------------
// blocks
// ---------------------------------------------------------------------------------------------

/** RMSNorm over the last axis, computed in float32 for half inputs (as LlamaRMSNorm does). x: (..., d) */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  const inner: DType = x.dtype === 'float16' ? 'float32' : x.dtype;
  const h = op.cast(x, inner);
  const inv = op.reciprocal(op.sqrt(op.add(op.reduceMean(op.mul(h, h), [-1], true), eps)));
  return op.mul(op.cast(op.mul(h, inv), x.dtype), weight);
}

export interface RopeTables {
  readonly cos: Tensor; // (seq, headDim)
  readonly sin: Tensor; // (seq, headDim)
}

/** cos/sin of position * inv_freq for positions 0..seq-1 of x's axis 1 (emb = cat(freqs, freqs)). */
export function ropeTables(x: Tensor, c: LlamaGraphConfig, dtype: DType): RopeTables {
  const half = c.headDim / 2;
  const invFreq = c.ropeInvFreq ?? Float64Array.from({ length: half }, (_, i) => c.ropeTheta ** ((-2 * i) / c.headDim));
  const angleDtype: DType = dtype === 'float64' ? 'float64' : 'float32';
  const positions = op.cast(op.arangeOf(x, 1), angleDtype); // (seq)
  const freqs = x.graph.constant(op.typedArray(angleDtype, invFreq), angleDtype, [1, half]);
  const angles = op.mul(op.unsqueeze(positions, [1]), freqs); // (seq, half)
  const emb = op.concat([angles, angles], 1); // (seq, headDim)
  return { cos: op.cast(op.cos(emb), dtype), sin: op.cast(op.sin(emb), dtype) };
}

/** x * cos + rotate_half(x) * sin, x: (batch, heads, seq, headDim). */
export function rope(x: Tensor, t: RopeTables): Tensor {
  const half = (x.shape.at(-1) as number) / 2;
  const [x1, x2] = op.split(x, [half, half], -1);
  const rotated = op.concat([op.neg(x2!), x1!], -1);
  return op.add(op.mul(x, t.cos), op.mul(rotated, t.sin));
}

/** True above the diagonal (key j > query i): positions a query may not attend to. (seq, seq) */
export function causalMask(x: Tensor): Tensor {
  const pos = op.arangeOf(x, 1);
  return op.greater(op.unsqueeze(pos, [0]), op.unsqueeze(pos, [1]));
}

/**
 * Causal mask plus padded keys: (batch, 1, seq, seq), true where a query may not attend.
 * attentionMask: (batch, tokens), 1 for real tokens, 0 for padding; prompt positions are never padding.
 */
export function paddedCausalMask(x: Tensor, attentionMask: Tensor, promptLength: number): Tensor {
  let padded = op.equal(op.cast(attentionMask, 'float32'), 0); // (b, t)
  if (promptLength > 0) {
    const none = x.graph.constant(new Uint8Array(promptLength), 'bool', [1, promptLength]);
    padded = op.concat([op.expandBatch(none, attentionMask), padded], 1); // (b, s)
  }
  return op.or(causalMask(x), op.unsqueeze(padded, [1, 2]));
}

/** y = x @ W^T for W: (out, in), as nn.Linear. */
export function linear(x: Tensor, w: Tensor): Tensor {
  return op.matmul(x, w, { transB: true });
}

/**
 * Grouped-query self-attention. x: (batch, seq, d) -> (batch, seq, d).
 * Query heads are grouped per kv head (head h uses kv head floor(h / rep), as repeat_kv), by
 * reshaping q to (batch, kvHeads, rep*seq, headDim) instead of copying k and v rep times.
 */
export function attention(
  x: Tensor,
  w: WeightSource,
  prefix: string,
  c: LlamaGraphConfig,
  rope_: RopeTables,
  mask: Tensor,
): Tensor {
  const { numHeads: h, numKvHeads: kvh, headDim: hd } = c;
  const rep = h / kvh;
  const [b, s] = [x.shape[0]!, x.shape[1]!];
  const heads = (t: Tensor, n: number): Tensor => op.transpose(op.reshape(t, [b, s, n, hd]), [0, 2, 1, 3]);
  const q = rope(heads(linear(x, w(`${prefix}.q_proj.weight`)), h), rope_); // (b, h, s, hd)
  const k = rope(heads(linear(x, w(`${prefix}.k_proj.weight`)), kvh), rope_); // (b, kvh, s, hd)
  const v = heads(linear(x, w(`${prefix}.v_proj.weight`)), kvh); // (b, kvh, s, hd)
  const grouped: Dim = typeof s === 'number' ? rep * s : `${rep}*${s}`;
  const qg = op.reshape(q, [b, kvh, grouped, hd]);
  const scores = op.reshape(op.matmul(qg, k, { transB: true, alpha: 1 / Math.sqrt(hd) }), [b, h, s, s]);
  // Masked scores take the lowest finite value (not -inf), so a fully masked row stays finite.
  const probs = op.softmax(op.where(mask, op.lowestFinite(scores.dtype), scores), -1); // (b, h, s, s)
  const ctx = op.reshape(op.matmul(op.reshape(probs, [b, kvh, grouped, s]), v), [b, h, s, hd]);
  const merged = op.reshape(op.transpose(ctx, [0, 2, 1, 3]), [b, s, h * hd]);
  return linear(merged, w(`${prefix}.o_proj.weight`));
}

/** SwiGLU: down(silu(gate(x)) * up(x)). */
export function mlp(x: Tensor, w: WeightSource, prefix: string): Tensor {
  const gate = linear(x, w(`${prefix}.gate_proj.weight`));
  const up = linear(x, w(`${prefix}.up_proj.weight`));
  return linear(op.mul(op.mul(gate, op.sigmoid(gate)), up), w(`${prefix}.down_proj.weight`));
}

export function decoderLayer(
  x: Tensor,
  w: WeightSource,
  layer: number,
  c: LlamaGraphConfig,
  rope_: RopeTables,
  mask: Tensor,
): Tensor {
  const p = `model.layers.${layer}`;
  const attn = attention(
    rmsNorm(x, w(`${p}.input_layernorm.weight`), c.rmsNormEps),
    w,
    `${p}.self_attn`,
    c,
    rope_,
    mask,
  );
  const h = op.add(x, attn);
  return op.add(h, mlp(rmsNorm(h, w(`${p}.post_attention_layernorm.weight`), c.rmsNormEps), w, `${p}.mlp`));
}

// ---------------------------------------------------------------------------------------------
// the model
// ---------------------------------------------------------------------------------------------

export interface LlamaForwardInputs {
  /** Token ids (batch, tokens), int64. */
  readonly inputIds: Tensor;
  /** Soft prompt (L, d) shared by the batch, or (batch, L, d); prepended to the token embeddings. */
  readonly prompt?: Tensor;
  /** Compute dtype (default: the embedding weight's). The prompt is cast to it. */
  readonly dtype?: DType;
  /**
   * (batch, tokens): 1 for real tokens, 0 for padding (keys at padded positions are masked).
   * Without it, pad on the right: causal attention never lets a real token see a later pad.
   */
  readonly attentionMask?: Tensor;
}

export interface LlamaForwardOutputs {
  /** Final-norm hidden states at the token positions (prompt positions dropped): (batch, tokens, d). */
  readonly hidden: Tensor;
  /** Next-token logits at the token positions: (batch, tokens, vocab). */
  readonly logits: Tensor;
}

/** Token embeddings with the soft prompt prepended: (batch, L + tokens, d). */
export function embedWithPrompt(w: WeightSource, inputs: LlamaForwardInputs): Tensor {
  const table = w('model.embed_tokens.weight');
  const dtype = inputs.dtype ?? table.dtype;
  const tokens = op.cast(op.gather(table, inputs.inputIds, 0), dtype); // (b, t, d)
  if (!inputs.prompt) return tokens;
  const p = op.cast(inputs.prompt, dtype);
  const batched = p.rank === 3 ? p : op.expandBatch(op.unsqueeze(p, [0]), inputs.inputIds);
  return op.concat([batched, tokens], 1);
}

export function llamaForward(c: LlamaGraphConfig, w: WeightSource, inputs: LlamaForwardInputs): LlamaForwardOutputs {
  let x = embedWithPrompt(w, inputs);
  const promptLength = inputs.prompt ? (inputs.prompt.shape.at(-2) as number) : 0;
  const rope_ = ropeTables(x, c, x.dtype);
  const mask = inputs.attentionMask ? paddedCausalMask(x, inputs.attentionMask, promptLength) : causalMask(x);
  for (let l = 0; l < c.numLayers; l++) x = decoderLayer(x, w, l, c, rope_, mask);
  const tokens = promptLength ? op.slice(x, [promptLength], [op.TO_END], [1]) : x;
  const hidden = rmsNorm(tokens, w('model.norm.weight'), c.rmsNormEps);
  const head = w(c.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight');
  return { hidden, logits: linear(hidden, head) };
}

/** Every weight name the model reads, with its shape (out, in) as stored by HF. */
export function llamaWeightShapes(c: LlamaGraphConfig): Map<string, number[]> {
  const d = c.hiddenSize;
  const shapes = new Map<string, number[]>([['model.embed_tokens.weight', [c.vocabSize, d]]]);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    shapes.set(`${p}.input_layernorm.weight`, [d]);
    shapes.set(`${p}.self_attn.q_proj.weight`, [c.numHeads * c.headDim, d]);
    shapes.set(`${p}.self_attn.k_proj.weight`, [c.numKvHeads * c.headDim, d]);
    shapes.set(`${p}.self_attn.v_proj.weight`, [c.numKvHeads * c.headDim, d]);
    shapes.set(`${p}.self_attn.o_proj.weight`, [d, c.numHeads * c.headDim]);
    shapes.set(`${p}.post_attention_layernorm.weight`, [d]);
    shapes.set(`${p}.mlp.gate_proj.weight`, [c.intermediateSize, d]);
    shapes.set(`${p}.mlp.up_proj.weight`, [c.intermediateSize, d]);
    shapes.set(`${p}.mlp.down_proj.weight`, [d, c.intermediateSize]);
  }
  shapes.set('model.norm.weight', [d]);
  if (!c.tieWordEmbeddings) shapes.set('lm_head.weight', [c.vocabSize, d]);
  return shapes;
}
