/**
 * Hugging Face `config.json` of LLaMA-family decoders (transformers' LlamaConfig, MistralConfig,
 * Qwen2Config) parsed into one `LlamaConfig`. Field names and defaults follow
 * transformers/models/llama/configuration_llama.py; rope scaling follows
 * transformers/modeling_rope_utils.py (default, linear, llama3).
 *
 * RoPE layout: every HF checkpoint uses the half-rotated layout (`rotate_half`: dimension i pairs
 * with i + head_dim/2). llama2.c checkpoints use interleaved pairs and are permuted on conversion
 * (llama2c/convert.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { UserError } from '../../common/errors.js';

export type Architecture = 'llama' | 'mistral' | 'qwen2';

export type RopeScaling =
  | { readonly type: 'default' }
  | { readonly type: 'linear'; readonly factor: number }
  | {
      readonly type: 'llama3';
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositions: number;
    };

export interface LlamaConfig {
  readonly architecture: Architecture;
  readonly vocabSize: number;
  readonly hiddenSize: number; // d
  readonly intermediateSize: number; // SwiGLU hidden width
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number; // GQA: numHeads % numKvHeads === 0
  readonly headDim: number;
  readonly maxPositions: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling;
  readonly tieWordEmbeddings: boolean;
  /** q/k/v projections carry a bias (Qwen2; LLaMA with attention_bias). */
  readonly attentionBias: boolean;
  readonly bosTokenId: number | undefined;
  readonly eosTokenIds: readonly number[];
  /** Mistral's sliding-window attention span; undefined when attention is global. */
  readonly slidingWindow: number | undefined;
  /** The dtype the weights were saved in (torch_dtype), informational. */
  readonly torchDtype: string;
}

const ARCHITECTURES: Readonly<Record<string, Architecture>> = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'mistral',
  Qwen2ForCausalLM: 'qwen2',
};

type Json = Record<string, unknown>;

function positiveInt(json: Json, key: string, file: string, fallback?: number): number {
  const v = json[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0)
    throw new UserError('BAD_FILE', `${file}: "${key}" must be a positive integer (found ${JSON.stringify(v)}).`);
  return v;
}

function positiveNumber(json: Json, key: string, file: string, fallback: number): number {
  const v = json[key] ?? fallback;
  if (typeof v !== 'number' || !(v > 0))
    throw new UserError('BAD_FILE', `${file}: "${key}" must be a positive number (found ${JSON.stringify(v)}).`);
  return v;
}

function parseRopeScaling(raw: unknown, file: string): RopeScaling {
  if (raw === undefined || raw === null) return { type: 'default' };
  const r = raw as Json;
  const type = (r['rope_type'] ?? r['type']) as string | undefined;
  if (type === 'default' || type === undefined) return { type: 'default' };
  if (type === 'linear') return { type: 'linear', factor: positiveNumber(r, 'factor', file, NaN) };
  if (type === 'llama3')
    return {
      type: 'llama3',
      factor: positiveNumber(r, 'factor', file, NaN),
      lowFreqFactor: positiveNumber(r, 'low_freq_factor', file, NaN),
      highFreqFactor: positiveNumber(r, 'high_freq_factor', file, NaN),
      originalMaxPositions: positiveInt(r, 'original_max_position_embeddings', file),
    };
  throw new UserError(
    'UNSUPPORTED',
    `${file}: rope_scaling type "${String(type)}" is not supported (supported: default, linear, llama3).`,
  );
}

/** Mistral applies its window whenever set; Qwen2 only with use_sliding_window. */
function slidingWindowOf(json: Json, architecture: Architecture): number | undefined {
  const w = json['sliding_window'];
  if (typeof w !== 'number' || w <= 0) return undefined;
  if (architecture === 'qwen2' && json['use_sliding_window'] !== true) return undefined;
  return architecture === 'llama' ? undefined : w;
}

/**
 * Longest sequence this implementation computes exactly as transformers does: the position limit,
 * and the sliding window when there is one (the graph attends globally; within the window the
 * two are the same).
 */
export function contextLimit(c: LlamaConfig): number {
  return Math.min(c.maxPositions, c.slidingWindow ?? Infinity);
}

/** Parses a config.json object; `file` names it in errors. */
export function parseLlamaConfig(json: Json, file: string): LlamaConfig {
  const modelType = json['model_type'];
  const archList = Array.isArray(json['architectures']) ? (json['architectures'] as unknown[]) : [];
  const byArch = archList.map((a) => ARCHITECTURES[String(a)]).find((a) => a !== undefined);
  const architecture =
    byArch ?? (['llama', 'mistral', 'qwen2'].includes(String(modelType)) ? (modelType as Architecture) : undefined);
  if (!architecture)
    throw new UserError(
      'UNSUPPORTED',
      `${file}: architecture ${JSON.stringify(archList[0] ?? modelType ?? 'unknown')} is not supported. ClinPrompt loads LLaMA-family models (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM).`,
    );
  const act = json['hidden_act'] ?? 'silu';
  if (act !== 'silu')
    throw new UserError(
      'UNSUPPORTED',
      `${file}: hidden_act "${String(act)}" is not supported (LLaMA-family models use silu).`,
    );
  const hiddenSize = positiveInt(json, 'hidden_size', file);
  const numHeads = positiveInt(json, 'num_attention_heads', file);
  const numKvHeads = positiveInt(json, 'num_key_value_heads', file, numHeads);
  if (numHeads % numKvHeads !== 0)
    throw new UserError(
      'BAD_FILE',
      `${file}: num_attention_heads (${numHeads}) is not a multiple of num_key_value_heads (${numKvHeads}).`,
    );
  const headDim = json['head_dim'] == null ? hiddenSize / numHeads : positiveInt(json, 'head_dim', file);
  if (!Number.isInteger(headDim) || headDim % 2 !== 0)
    throw new UserError(
      'BAD_FILE',
      `${file}: head dimension ${headDim} must be an even integer (hidden_size / num_attention_heads).`,
    );
  const eos = json['eos_token_id'];
  const eosTokenIds = Array.isArray(eos) ? (eos as number[]) : typeof eos === 'number' ? [eos] : [];
  const bos = json['bos_token_id'];
  return {
    architecture,
    vocabSize: positiveInt(json, 'vocab_size', file),
    hiddenSize,
    intermediateSize: positiveInt(json, 'intermediate_size', file),
    numLayers: positiveInt(json, 'num_hidden_layers', file),
    numHeads,
    numKvHeads,
    headDim,
    maxPositions: positiveInt(json, 'max_position_embeddings', file, 2048),
    rmsNormEps: positiveNumber(json, 'rms_norm_eps', file, 1e-6),
    ropeTheta: positiveNumber(json, 'rope_theta', file, 10000),
    ropeScaling: parseRopeScaling(json['rope_scaling'], file),
    // LlamaConfig defaults to untied; Qwen2's small models set it explicitly
    tieWordEmbeddings: json['tie_word_embeddings'] === true,
    attentionBias: architecture === 'qwen2' ? json['attention_bias'] !== false : json['attention_bias'] === true,
    bosTokenId: typeof bos === 'number' ? bos : undefined,
    eosTokenIds,
    slidingWindow: slidingWindowOf(json, architecture),
    torchDtype:
      typeof json['torch_dtype'] === 'string'
        ? json['torch_dtype']
        : ((json['dtype'] as string | undefined) ?? 'float32'),
  };
}

/** Reads and parses `<dir>/config.json`. */
export function readLlamaConfig(dir: string): LlamaConfig {
  const file = path.join(dir, 'config.json');
  if (!existsSync(file))
    throw new UserError(
      'NOT_FOUND',
      `${dir} has no config.json. Point --backbone at a Hugging Face model folder or a llama2.c folder (model .bin + tok*.bin).`,
    );
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new UserError('BAD_FILE', `${file} is not valid JSON. Copy the model folder again.`);
  }
  if (typeof json !== 'object' || json === null) throw new UserError('BAD_FILE', `${file} is not a JSON object.`);
  return parseLlamaConfig(json as Json, file);
}

/** Inverse of parseLlamaConfig for the fields transformers needs (used when writing HF folders). */
export function toHfConfigJson(c: LlamaConfig): Json {
  const archName = Object.entries(ARCHITECTURES).find(([, a]) => a === c.architecture)![0];
  const rope: Json | null =
    c.ropeScaling.type === 'default'
      ? null
      : c.ropeScaling.type === 'linear'
        ? { rope_type: 'linear', factor: c.ropeScaling.factor }
        : {
            rope_type: 'llama3',
            factor: c.ropeScaling.factor,
            low_freq_factor: c.ropeScaling.lowFreqFactor,
            high_freq_factor: c.ropeScaling.highFreqFactor,
            original_max_position_embeddings: c.ropeScaling.originalMaxPositions,
          };
  return {
    architectures: [archName],
    model_type: c.architecture,
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim,
    max_position_embeddings: c.maxPositions,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    rope_scaling: rope,
    tie_word_embeddings: c.tieWordEmbeddings,
    attention_bias: c.attentionBias,
    hidden_act: 'silu',
    bos_token_id: c.bosTokenId ?? null,
    eos_token_id: c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds,
    sliding_window: c.slidingWindow ?? null,
    torch_dtype: c.torchDtype,
  };
}

/** Parameter count implied by the config (embeddings counted once when tied). */
export function parameterCount(c: LlamaConfig): number {
  const d = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const attn = d * q + 2 * d * kv + q * d + (c.attentionBias ? q + 2 * kv : 0);
  const mlp = 3 * d * c.intermediateSize;
  const perLayer = attn + mlp + 2 * d;
  const embed = c.vocabSize * d * (c.tieWordEmbeddings ? 1 : 2);
  return embed + c.numLayers * perLayer + d;
}
