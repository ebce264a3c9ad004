import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { parameterCount } from '../../../src-main/backbone/hf/config.js';
import { readLlama2cCheckpoint } from '../../../src-main/backbone/llama2c/checkpoint.js';
import {
  findLlama2cFiles,
  llama2cConfig,
  permuteInterleavedToHalf,
} from '../../../src-main/backbone/llama2c/convert.js';
import { Llama2cTokenizer, readLlama2cTokenizer } from '../../../src-main/backbone/llama2c/tokenizer.js';
import { HfTokenizer } from '../../../src-main/backbone/tokenizer/hf-tokenizer.js';
import { convertLlama2cFolder } from '../../../src-main/backbone/llama2c/convert.js';
import { makeTempDir } from '../../support/temp.js';
import { seededRandom, STORIES_DIR } from '../../support/tiny-llama.js';

const files = findLlama2cFiles(STORIES_DIR)!;

describe('llama2.c checkpoint reader (stories260K)', () => {
  it('reads the header and weight layout of the real model', () => {
    const ckpt = readLlama2cCheckpoint(files.modelFile);
    expect(ckpt.header).toEqual({
      dim: 64,
      hiddenDim: 172,
      nLayers: 5,
      nHeads: 8,
      nKvHeads: 4,
      vocabSize: 512,
      seqLen: 512,
      sharedClassifier: true,
    });
    expect(parameterCount(llama2cConfig(ckpt))).toBe(260_032); // as ../shared/data/README.md states
    expect(ckpt.weights.wk[0]!.length).toBe(32 * 64);
    expect(ckpt.weights.classifier).toBe(ckpt.weights.tokenEmbedding);
    // RMSNorm gains of a trained model are positive and near 1, a check that offsets are right
    const mean = ckpt.weights.rmsFinal.reduce((a, b) => a + b, 0) / 64;
    expect(mean).toBeGreaterThan(0.3);
  });

  describe('with damaged copies', () => {
    let tmp: ReturnType<typeof makeTempDir>;
    beforeEach(() => (tmp = makeTempDir()));
    afterEach(() => tmp.cleanup());

    it('refuses a truncated checkpoint, saying so', () => {
      const bytes = readFileSync(files.modelFile);
      const cut = path.join(tmp.dir, 'model.bin');
      writeFileSync(cut, bytes.subarray(0, bytes.byteLength - 100));
      expect(() => readLlama2cCheckpoint(cut)).toThrow(
        expect.objectContaining({ code: 'BAD_FILE', message: expect.stringMatching(/truncated/) }),
      );
      writeFileSync(cut, bytes.subarray(0, 20));
      expect(() => readLlama2cCheckpoint(cut)).toThrow(/shorter than the 28-byte header/);
    });

    it('refuses a header with impossible sizes', () => {
      const bytes = Buffer.from(readFileSync(files.modelFile));
      bytes.writeInt32LE(7, 12); // n_heads 7 does not divide dim 64
      const bad = path.join(tmp.dir, 'model.bin');
      writeFileSync(bad, bytes);
      expect(() => readLlama2cCheckpoint(bad)).toThrow(/do not divide evenly/);
    });

    it('refuses a tokenizer for another vocabulary size', () => {
      expect(() => readLlama2cTokenizer(files.tokenizerFile, 32000)).toThrow(/ends after 512 tokens/);
    });

    it('asks for exactly one model and one tokenizer file', () => {
      copyFileSync(files.modelFile, path.join(tmp.dir, 'a.bin'));
      copyFileSync(files.modelFile, path.join(tmp.dir, 'b.bin'));
      copyFileSync(files.tokenizerFile, path.join(tmp.dir, 'tok512.bin'));
      expect(() => findLlama2cFiles(tmp.dir)).toThrow(/2 model \.bin files and 1 tok\*\.bin/);
    });
  });
});

describe('llama2.c tokenizer', () => {
  const vocab = readLlama2cTokenizer(files.tokenizerFile, 512);
  const tok = new Llama2cTokenizer(vocab);

  it('encodes as run.c does (BOS, dummy prefix, best-score merges)', () => {
    expect(vocab.pieces[1]).toBe('\n<s>\n');
    const ids = tok.encode('Once upon a time');
    expect(ids.map((id) => vocab.pieces[id])).toEqual(['\n<s>\n', ' Once', ' upon', ' a', ' time']);
    expect(tok.decode(tok.encode('Once upon a time'))).toBe('Once upon a time');
  });

  it('falls back to bytes for characters outside the vocabulary and decodes them back', () => {
    const text = 'Fièvre 39°C — 😀';
    const ids = tok.encode(text);
    expect(ids.some((id) => id >= 3 && id < 259)).toBe(true);
    expect(tok.decode(ids)).toBe(text);
  });

  describe('as tokenizer.json', () => {
    let tmp: ReturnType<typeof makeTempDir>;
    beforeEach(() => (tmp = makeTempDir()));
    afterEach(() => tmp.cleanup());

    it('gives the same ids through @huggingface/tokenizers as run.c on real text', () => {
      convertLlama2cFolder(STORIES_DIR, tmp.dir);
      const hf = HfTokenizer.fromFolder(tmp.dir);
      const corpus = readFileSync(path.join(STORIES_DIR, '..', '..', 'data', 'sum', 'meqsum', 'meqsum.csv'), 'utf8');
      const samples = corpus
        .split('\n')
        .slice(1, 60)
        .filter((l) => l.length > 0);
      samples.push('Once upon a time', '  leading and  double spaces ', 'tabs\tand\nnewlines', 'ünïcödé and emoji 🩺');
      for (const s of samples) {
        const ids = tok.encode(s);
        expect(hf.encode(s)).toEqual(ids);
        expect(hf.decode(ids)).toBe(tok.decode(ids));
      }
    });
  });
});

describe('RoPE layout permutation (llama2.c interleaved -> HF half-rotated)', () => {
  it('makes the half-rotated rotation of permuted q equal the interleaved rotation of q', () => {
    const heads = 2;
    const headDim = 8;
    const cols = 3;
    const rand = seededRandom(3);
    const w = Float32Array.from({ length: heads * headDim * cols }, rand);
    const x = Float32Array.from({ length: cols }, rand);
    const pos = 5;
    const matvec = (m: Float32Array) =>
      Array.from({ length: heads * headDim }, (_, r) => x.reduce((s, xv, c) => s + m[r * cols + c]! * xv, 0));
    const theta = (j: number) => pos / 10000 ** ((2 * j) / headDim);
    // llama2.c: rotate pairs (2j, 2j+1)
    const q = matvec(w);
    const inter = [...q];
    // HF: rotate (j, j + headDim/2)
    const p = matvec(permuteInterleavedToHalf(w, heads, cols));
    const half = [...p];
    for (let h = 0; h < heads; h++)
      for (let j = 0; j < headDim / 2; j++) {
        const [c, s] = [Math.cos(theta(j)), Math.sin(theta(j))];
        const a = h * headDim + 2 * j;
        [inter[a], inter[a + 1]] = [q[a]! * c - q[a + 1]! * s, q[a]! * s + q[a + 1]! * c];
        const b = h * headDim + j;
        const b2 = b + headDim / 2;
        [half[b], half[b2]] = [p[b]! * c - p[b2]! * s, p[b2]! * c + p[b]! * s];
      }
    // scores q.k are invariant, so compare the rotated vectors element by element after un-permuting
    for (let h = 0; h < heads; h++)
      for (let j = 0; j < headDim / 2; j++)
        for (let k = 0; k < 2; k++)
          expect(half[h * headDim + k * (headDim / 2) + j]).toBeCloseTo(inter[h * headDim + 2 * j + k]!, 5);
  });
});
