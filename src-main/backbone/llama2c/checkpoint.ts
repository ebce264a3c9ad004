/**
 * Reader for llama2.c model checkpoints (karpathy/llama2.c, run.c: `read_checkpoint`,
 * `memory_map_weights`; legacy "version 0" export of export.py).
 *
 * Layout: a 28-byte header of 7 little-endian int32
 *   (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len)
 * then float32 weights in this order (each matrix row-major as (out, in), like nn.Linear):
 *   token_embedding_table (vocab, dim)
 *   rms_att_weight (layer, dim)
 *   wq (layer, n_heads*head_size, dim)   wk (layer, n_kv_heads*head_size, dim)
 *   wv (layer, n_kv_heads*head_size, dim)   wo (layer, dim, n_heads*head_size)
 *   rms_ffn_weight (layer, dim)
 *   w1 (layer, hidden, dim)   w2 (layer, dim, hidden)   w3 (layer, hidden, dim)
 *   rms_final_weight (dim)
 *   freq_cis_real, freq_cis_imag (seq_len, head_size/2) -- unused leftovers, skipped
 *   wcls (vocab, dim) -- only when vocab_size in the header is negative ("a bit yikes" in run.c:
 *   the sign says the classifier is NOT shared with the embedding).
 *
 * RoPE layout: llama2.c rotates interleaved pairs (dims 2i, 2i+1) of each head; wq/wk here are in
 * that layout. convert.ts permutes them to HF's half-rotated layout.
 */
import { readFileSync, statSync } from 'node:fs';

import { UserError } from '../../common/errors.js';

export interface Llama2cHeader {
  readonly dim: number;
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly vocabSize: number;
  readonly seqLen: number;
  /** vocab_size > 0 in the file: the classifier reuses the token embedding. */
  readonly sharedClassifier: boolean;
}

export interface Llama2cWeights {
  readonly tokenEmbedding: Float32Array; // (vocab, dim)
  readonly rmsAtt: Float32Array[]; // per layer (dim)
  readonly wq: Float32Array[]; // per layer (n_heads*head_size, dim), interleaved RoPE rows
  readonly wk: Float32Array[]; // per layer (n_kv_heads*head_size, dim), interleaved RoPE rows
  readonly wv: Float32Array[]; // per layer (n_kv_heads*head_size, dim)
  readonly wo: Float32Array[]; // per layer (dim, n_heads*head_size)
  readonly rmsFfn: Float32Array[]; // per layer (dim)
  readonly w1: Float32Array[]; // per layer (hidden, dim) = gate_proj
  readonly w2: Float32Array[]; // per layer (dim, hidden) = down_proj
  readonly w3: Float32Array[]; // per layer (hidden, dim) = up_proj
  readonly rmsFinal: Float32Array; // (dim)
  readonly classifier: Float32Array; // (vocab, dim); the embedding itself when shared
}

export interface Llama2cCheckpoint {
  readonly file: string;
  readonly header: Llama2cHeader;
  readonly weights: Llama2cWeights;
}

const HEADER_BYTES = 28;

function bad(file: string, why: string): UserError {
  return new UserError('BAD_FILE', `${file} is not a valid llama2.c checkpoint: ${why}. Copy the model file again.`);
}

/** Parses the 7-int32 header and checks it describes a plausible model. */
export function parseLlama2cHeader(buf: Buffer, file: string): Llama2cHeader {
  if (buf.byteLength < HEADER_BYTES) throw bad(file, `it is shorter than the ${HEADER_BYTES}-byte header`);
  const ints = [0, 1, 2, 3, 4, 5, 6].map((i) => buf.readInt32LE(4 * i));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = ints as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const vocabSize = Math.abs(rawVocab);
  if ([dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen].some((v) => v <= 0 || v > 1 << 24))
    throw bad(file, `its header (${ints.join(', ')}) has non-positive or implausible sizes`);
  if (dim % nHeads !== 0 || nHeads % nKvHeads !== 0 || (dim / nHeads) % 2 !== 0)
    throw bad(file, `dim ${dim}, n_heads ${nHeads} and n_kv_heads ${nKvHeads} do not divide evenly`);
  return { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, sharedClassifier: rawVocab > 0 };
}

/** Number of float32 values the file must hold after the header. */
export function llama2cFloatCount(h: Llama2cHeader): number {
  const headSize = h.dim / h.nHeads;
  const kvDim = h.nKvHeads * headSize;
  const perLayer = 2 * h.dim + 2 * h.dim * h.dim + 2 * h.dim * kvDim + 3 * h.dim * h.hiddenDim;
  return h.vocabSize * h.dim * (h.sharedClassifier ? 1 : 2) + h.nLayers * perLayer + h.dim + h.seqLen * headSize;
}

export function readLlama2cCheckpoint(file: string): Llama2cCheckpoint {
  const size = statSync(file).size;
  // llama2.c models are small (the largest public one is 110M params); reading them whole is fine
  const buf = readFileSync(file);
  const header = parseLlama2cHeader(buf, file);
  const expected = HEADER_BYTES + 4 * llama2cFloatCount(header);
  if (size !== expected)
    throw bad(
      file,
      `its header implies ${expected} bytes but the file has ${size}${size < expected ? ' (truncated)' : ''}`,
    );
  // copy into an aligned Float32Array (the buffer's offset may not be a multiple of 4)
  const floats = new Float32Array((size - HEADER_BYTES) / 4);
  new Uint8Array(floats.buffer).set(buf.subarray(HEADER_BYTES));
  let at = 0;
  const take = (n: number) => floats.subarray(at, (at += n));
  const perLayer = (n: number) => Array.from({ length: header.nLayers }, () => take(n));
  const { dim, hiddenDim, nHeads, nKvHeads, vocabSize, seqLen } = header;
  const headSize = dim / nHeads;
  const kvDim = nKvHeads * headSize;
  const tokenEmbedding = take(vocabSize * dim);
  const rmsAtt = perLayer(dim);
  const wq = perLayer(dim * nHeads * headSize);
  const wk = perLayer(dim * kvDim);
  const wv = perLayer(dim * kvDim);
  const wo = perLayer(nHeads * headSize * dim);
  const rmsFfn = perLayer(dim);
  const w1 = perLayer(dim * hiddenDim);
  const w2 = perLayer(hiddenDim * dim);
  const w3 = perLayer(dim * hiddenDim);
  const rmsFinal = take(dim);
  take(seqLen * headSize); // freq_cis_real + freq_cis_imag (seq_len * head_size/2 each)
  const classifier = header.sharedClassifier ? tokenEmbedding : take(vocabSize * dim);
  return {
    file,
    header,
    weights: { tokenEmbedding, rmsAtt, wq, wk, wv, wo, rmsFfn, w1, w2, w3, rmsFinal, classifier },
  };
}
