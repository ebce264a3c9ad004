/**
 * The tensors a LLaMA-family checkpoint must hold, with their shapes, by transformers' names
 * (LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM state dicts). Shapes are nn.Linear's
 * (out_features, in_features).
 */
import { UserError } from '../../common/errors.js';
import type { LlamaConfig } from './config.js';
import type { SafetensorsWeights, TensorEntry } from './safetensors.js';

export interface LayerTensorNames {
  readonly inputNorm: string; // (d)
  readonly q: string; // (heads*head_dim, d)
  readonly k: string; // (kv_heads*head_dim, d)
  readonly v: string; // (kv_heads*head_dim, d)
  readonly o: string; // (d, heads*head_dim)
  readonly qBias: string; // (heads*head_dim), only with attentionBias
  readonly kBias: string; // (kv_heads*head_dim)
  readonly vBias: string; // (kv_heads*head_dim)
  readonly postNorm: string; // (d)
  readonly gate: string; // (intermediate, d)
  readonly up: string; // (intermediate, d)
  readonly down: string; // (d, intermediate)
}

export function layerTensorNames(i: number): LayerTensorNames {
  const p = `model.layers.${i}.`;
  return {
    inputNorm: `${p}input_layernorm.weight`,
    q: `${p}self_attn.q_proj.weight`,
    k: `${p}self_attn.k_proj.weight`,
    v: `${p}self_attn.v_proj.weight`,
    o: `${p}self_attn.o_proj.weight`,
    qBias: `${p}self_attn.q_proj.bias`,
    kBias: `${p}self_attn.k_proj.bias`,
    vBias: `${p}self_attn.v_proj.bias`,
    postNorm: `${p}post_attention_layernorm.weight`,
    gate: `${p}mlp.gate_proj.weight`,
    up: `${p}mlp.up_proj.weight`,
    down: `${p}mlp.down_proj.weight`,
  };
}

export const EMBED_TOKENS = 'model.embed_tokens.weight'; // (vocab, d)
export const FINAL_NORM = 'model.norm.weight'; // (d)
export const LM_HEAD = 'lm_head.weight'; // (vocab, d), absent when tied

/** Every expected tensor name with its shape. */
export function expectedLlamaTensors(c: LlamaConfig): Map<string, readonly number[]> {
  const d = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const m = new Map<string, readonly number[]>([[EMBED_TOKENS, [c.vocabSize, d]]]);
  for (let i = 0; i < c.numLayers; i++) {
    const n = layerTensorNames(i);
    m.set(n.inputNorm, [d]).set(n.q, [q, d]).set(n.k, [kv, d]).set(n.v, [kv, d]).set(n.o, [d, q]);
    if (c.attentionBias) m.set(n.qBias, [q]).set(n.kBias, [kv]).set(n.vBias, [kv]);
    m.set(n.postNorm, [d]).set(n.gate, [c.intermediateSize, d]).set(n.up, [c.intermediateSize, d]);
    m.set(n.down, [d, c.intermediateSize]);
  }
  m.set(FINAL_NORM, [d]);
  if (!c.tieWordEmbeddings) m.set(LM_HEAD, [c.vocabSize, d]);
  return m;
}

/**
 * Checks that the checkpoint holds every tensor the config implies, with the right shape and a
 * float dtype. A tied config may still carry lm_head.weight (ignored); an untied one must have it.
 */
export function checkLlamaTensors(c: LlamaConfig, weights: SafetensorsWeights, dir: string): Map<string, TensorEntry> {
  const found = new Map<string, TensorEntry>();
  const missing: string[] = [];
  for (const [name, shape] of expectedLlamaTensors(c)) {
    const t = weights.tensors.get(name);
    if (!t) {
      missing.push(name);
      continue;
    }
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]))
      throw new UserError(
        'BAD_FILE',
        `${t.file}: tensor ${name} has shape [${t.shape.join(', ')}] but ${dir}/config.json implies [${shape.join(', ')}]. The config and weights do not belong together.`,
      );
    if (!['F32', 'F16', 'BF16'].includes(t.dtype))
      throw new UserError(
        'UNSUPPORTED',
        `${t.file}: tensor ${name} is ${t.dtype}; ClinPrompt loads F32, F16 and BF16 weights.`,
      );
    found.set(name, t);
  }
  if (missing.length > 0)
    throw new UserError(
      'BAD_FILE',
      `The safetensors in ${dir} lack ${missing.length} tensor(s) the config needs, e.g. ${missing.slice(0, 3).join(', ')}. Copy every shard of the model.`,
    );
  return found;
}
