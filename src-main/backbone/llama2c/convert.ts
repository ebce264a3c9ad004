/**
 * A llama2.c folder (model .bin + tok*.bin) converted to a standard Hugging Face folder:
 * config.json, model.safetensors, tokenizer.json, tokenizer_config.json, generation_config.json.
 * Mirrors llama2.c's export.py `hf_export` (tensor names, q/k permutation) and transformers'
 * LlamaConverter for the tokenizer (tokenizer-json.ts).
 *
 * RoPE: llama2.c rotates interleaved pairs (2i, 2i+1); HF rotates halves (i, i + head_dim/2). The
 * q and k projections are permuted row-wise so that the HF forward pass computes the same function
 * (export.py `permute_original`: view(n_heads, head_dim/2, 2, dim).transpose(1, 2)).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { UserError } from '../../common/errors.js';
import type { LlamaConfig } from '../hf/config.js';
import { toHfConfigJson } from '../hf/config.js';
import type { TensorToWrite } from '../hf/safetensors-writer.js';
import { writeModelSafetensors } from '../hf/safetensors-writer.js';
import type { Llama2cCheckpoint } from './checkpoint.js';
import { readLlama2cCheckpoint } from './checkpoint.js';
import { llama2cTokenizerConfigJson, llama2cTokenizerJson } from './tokenizer-json.js';
import { LLAMA2C_BOS, LLAMA2C_EOS, readLlama2cTokenizer } from './tokenizer.js';

export interface Llama2cFolder {
  readonly modelFile: string;
  readonly tokenizerFile: string;
}

/** Finds the model .bin and tok*.bin of a llama2.c folder, or undefined if `dir` is not one. */
export function findLlama2cFiles(dir: string): Llama2cFolder | undefined {
  if (!existsSync(dir)) return undefined;
  const bins = readdirSync(dir).filter((f) => f.endsWith('.bin'));
  const toks = bins.filter((f) => /^tok.*\.bin$/.test(f));
  const models = bins.filter((f) => !toks.includes(f));
  if (models.length === 0 || existsSync(path.join(dir, 'config.json'))) return undefined;
  if (models.length > 1 || toks.length !== 1)
    throw new UserError(
      'BAD_FILE',
      `${dir} looks like a llama2.c folder but has ${models.length} model .bin files and ${toks.length} tok*.bin files; it needs exactly one of each.`,
    );
  return { modelFile: path.join(dir, models[0]!), tokenizerFile: path.join(dir, toks[0]!) };
}

/** The config a llama2.c checkpoint implies (llama2.c: rms eps 1e-5, theta 10000, no biases). */
export function llama2cConfig(ckpt: Llama2cCheckpoint): LlamaConfig {
  const h = ckpt.header;
  return {
    architecture: 'llama',
    vocabSize: h.vocabSize,
    hiddenSize: h.dim,
    intermediateSize: h.hiddenDim,
    numLayers: h.nLayers,
    numHeads: h.nHeads,
    numKvHeads: h.nKvHeads,
    headDim: h.dim / h.nHeads,
    maxPositions: h.seqLen,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    ropeScaling: { type: 'default' },
    tieWordEmbeddings: h.sharedClassifier,
    attentionBias: false,
    bosTokenId: LLAMA2C_BOS,
    // run.c stops when the model emits BOS (stories are delimited by BOS in its training data)
    eosTokenIds: [LLAMA2C_EOS, LLAMA2C_BOS],
    slidingWindow: undefined,
    torchDtype: 'float32',
  };
}

/**
 * Interleaved -> half-rotated rows of a q or k projection (rows, cols) with `heads` heads:
 * new row (h, half, j) = old row (h, j, half), j < head_dim/2.
 */
export function permuteInterleavedToHalf(w: Float32Array, heads: number, cols: number): Float32Array {
  const rows = w.length / cols;
  const headDim = rows / heads;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++)
    for (let half = 0; half < 2; half++)
      for (let j = 0; j < headDim / 2; j++) {
        const from = h * headDim + 2 * j + half;
        const to = h * headDim + half * (headDim / 2) + j;
        out.set(w.subarray(from * cols, (from + 1) * cols), to * cols);
      }
  return out;
}

/** HF tensors (names of transformers' LlamaForCausalLM) of a llama2.c checkpoint. */
export function llama2cToHfTensors(ckpt: Llama2cCheckpoint): TensorToWrite[] {
  const { header: h, weights: w } = ckpt;
  const headDim = h.dim / h.nHeads;
  const kvDim = h.nKvHeads * headDim;
  const out: TensorToWrite[] = [
    { name: 'model.embed_tokens.weight', shape: [h.vocabSize, h.dim], data: w.tokenEmbedding },
  ];
  for (let i = 0; i < h.nLayers; i++) {
    const p = `model.layers.${i}.`;
    out.push(
      { name: `${p}input_layernorm.weight`, shape: [h.dim], data: w.rmsAtt[i]! },
      {
        name: `${p}self_attn.q_proj.weight`,
        shape: [h.dim, h.dim],
        data: permuteInterleavedToHalf(w.wq[i]!, h.nHeads, h.dim),
      },
      {
        name: `${p}self_attn.k_proj.weight`,
        shape: [kvDim, h.dim],
        data: permuteInterleavedToHalf(w.wk[i]!, h.nKvHeads, h.dim),
      },
      { name: `${p}self_attn.v_proj.weight`, shape: [kvDim, h.dim], data: w.wv[i]! },
      { name: `${p}self_attn.o_proj.weight`, shape: [h.dim, h.dim], data: w.wo[i]! },
      { name: `${p}post_attention_layernorm.weight`, shape: [h.dim], data: w.rmsFfn[i]! },
      { name: `${p}mlp.gate_proj.weight`, shape: [h.hiddenDim, h.dim], data: w.w1[i]! },
      { name: `${p}mlp.down_proj.weight`, shape: [h.dim, h.hiddenDim], data: w.w2[i]! },
      { name: `${p}mlp.up_proj.weight`, shape: [h.hiddenDim, h.dim], data: w.w3[i]! },
    );
  }
  out.push({ name: 'model.norm.weight', shape: [h.dim], data: w.rmsFinal });
  if (!h.sharedClassifier) out.push({ name: 'lm_head.weight', shape: [h.vocabSize, h.dim], data: w.classifier });
  return out;
}

/** Writes the HF folder for the llama2.c folder `src` into `dest` (created if needed). */
export function convertLlama2cFolder(src: string, dest: string): LlamaConfig {
  const files = findLlama2cFiles(src);
  if (!files)
    throw new UserError('NOT_FOUND', `${src} is not a llama2.c folder (a model .bin and a tok*.bin, no config.json).`);
  if (['config.json', 'model.safetensors'].some((f) => existsSync(path.join(dest, f))))
    throw new UserError('ALREADY_EXISTS', `${dest} already holds a model; choose an empty or new output folder.`);
  const ckpt = readLlama2cCheckpoint(files.modelFile);
  const vocab = readLlama2cTokenizer(files.tokenizerFile, ckpt.header.vocabSize);
  const config = llama2cConfig(ckpt);
  mkdirSync(dest, { recursive: true });
  writeModelSafetensors(dest, llama2cToHfTensors(ckpt));
  const json = (name: string, value: unknown) => writeFileSync(path.join(dest, name), JSON.stringify(value, null, 2));
  json('config.json', toHfConfigJson(config));
  json('generation_config.json', { bos_token_id: LLAMA2C_BOS, eos_token_id: [LLAMA2C_EOS, LLAMA2C_BOS] });
  json('tokenizer.json', llama2cTokenizerJson(vocab));
  json('tokenizer_config.json', llama2cTokenizerConfigJson(ckpt.header.seqLen));
  return config;
}
