/**
 * llama2.c tokenizer files (`tok*.bin`, written by llama2.c's tokenizer.py `export`) and the BPE
 * encode/decode of run.c (`build_tokenizer`, `encode`, `decode`, `safe_printf`).
 *
 * File: int32 max_token_length, then per token: float32 score, int32 byte length, UTF-8 bytes.
 * Conventions of that export: SentencePiece's "▁" is stored as a plain space, BOS is "\n<s>\n",
 * EOS "\n</s>\n", ids 3..258 are the byte-fallback pieces "<0x00>".."<0xFF>".
 *
 * Strings are handled as "binary" strings (one char per byte, latin1) so byte pieces and merges
 * behave exactly as run.c's C strings do.
 */
import { readFileSync } from 'node:fs';

import { UserError } from '../../common/errors.js';

export const LLAMA2C_BOS = 1;
export const LLAMA2C_EOS = 2;

export interface Llama2cVocab {
  /** Each piece's raw bytes as a binary string. */
  readonly pieces: readonly string[];
  readonly scores: Float32Array;
  readonly maxTokenLength: number;
}

export function readLlama2cTokenizer(file: string, vocabSize: number): Llama2cVocab {
  const buf = readFileSync(file);
  const bad = (why: string) =>
    new UserError(
      'BAD_FILE',
      `${file} is not a valid llama2.c tokenizer for a ${vocabSize}-token model: ${why}. Use the tok*.bin exported with this model.`,
    );
  if (buf.byteLength < 4) throw bad('it is empty');
  const maxTokenLength = buf.readInt32LE(0);
  const pieces: string[] = [];
  const scores = new Float32Array(vocabSize);
  let at = 4;
  for (let i = 0; i < vocabSize; i++) {
    if (at + 8 > buf.byteLength) throw bad(`it ends after ${i} tokens`);
    scores[i] = buf.readFloatLE(at);
    const len = buf.readInt32LE(at + 4);
    at += 8;
    if (len < 0 || len > maxTokenLength || at + len > buf.byteLength)
      throw bad(`token ${i} has an invalid length ${len}`);
    pieces.push(buf.toString('latin1', at, at + len));
    at += len;
  }
  if (at !== buf.byteLength) throw bad(`${buf.byteLength - at} bytes follow the last token`);
  return { pieces, scores, maxTokenLength };
}

const BYTE_PIECE = /^<0x([0-9A-F]{2})>$/;

/** run.c's BPE encoder: dummy-prefix space, codepoints (byte fallback +3), then greedy best-score merges. */
export class Llama2cTokenizer {
  private readonly lookup: Map<string, number>;

  constructor(readonly vocab: Llama2cVocab) {
    this.lookup = new Map();
    // run.c's sorted_vocab + bsearch returns one of equal pieces; the first wins here
    vocab.pieces.forEach((p, i) => {
      if (!this.lookup.has(p)) this.lookup.set(p, i);
    });
  }

  encode(text: string, options: { bos?: boolean; eos?: boolean } = {}): number[] {
    const bytes = Buffer.from(text, 'utf8').toString('latin1');
    const tokens: number[] = [];
    if (options.bos ?? true) tokens.push(LLAMA2C_BOS);
    if (bytes.length > 0) tokens.push(...this.piecesOrBytes(' '));
    // one codepoint at a time: a lead byte plus its continuation bytes (at most 4)
    for (let i = 0; i < bytes.length;) {
      let j = i + 1;
      while (j < bytes.length && (bytes.charCodeAt(j) & 0xc0) === 0x80 && j - i < 4) j++;
      tokens.push(...this.piecesOrBytes(bytes.slice(i, j)));
      i = j;
    }
    for (;;) {
      let bestScore = -1e10;
      let bestId = -1;
      let bestIdx = -1;
      for (let i = 0; i < tokens.length - 1; i++) {
        const id = this.lookup.get(this.vocab.pieces[tokens[i]!]! + this.vocab.pieces[tokens[i + 1]!]!);
        if (id !== undefined && this.vocab.scores[id]! > bestScore) {
          bestScore = this.vocab.scores[id]!;
          bestId = id;
          bestIdx = i;
        }
      }
      if (bestIdx === -1) break;
      tokens.splice(bestIdx, 2, bestId);
    }
    if (options.eos) tokens.push(LLAMA2C_EOS);
    return tokens;
  }

  private piecesOrBytes(piece: string): number[] {
    const id = this.lookup.get(piece);
    if (id !== undefined) return [id];
    // byte_fallback: +3 skips <unk>, <s>, </s>
    return Array.from(piece, (c) => c.charCodeAt(0) + 3);
  }

  /** run.c's `decode` + `safe_printf`: the bytes printed for `token` after `prev`. */
  decodePiece(prev: number, token: number): string {
    let piece = this.vocab.pieces[token] ?? '';
    // after BOS, sentencepiece's decoder strips the leading space
    if (prev === LLAMA2C_BOS && piece.startsWith(' ')) piece = piece.slice(1);
    const byte = BYTE_PIECE.exec(piece);
    if (byte) piece = String.fromCharCode(parseInt(byte[1]!, 16));
    if (piece.length === 1) {
      const c = piece.charCodeAt(0);
      const printable = (c >= 0x20 && c < 0x7f) || (c >= 0x09 && c <= 0x0d);
      if (!printable && c < 0x80) return '';
    }
    return piece;
  }

  /** Text of a token sequence as run.c prints it (the first token, normally BOS, is not printed). */
  decode(tokens: readonly number[]): string {
    let bytes = '';
    for (let i = 1; i < tokens.length; i++) bytes += this.decodePiece(tokens[i - 1]!, tokens[i]!);
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
}
