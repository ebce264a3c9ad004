/**
 * The byte-level BPE trainer on real clinical text: the vocabulary's layout, determinism, lossless
 * round trips of any text (every byte has a token), and the same ids from the app's loader
 * (@huggingface/tokenizers, pure JS) and Hugging Face's Rust tokenizers reading the same file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import type * as Tokenizers from 'tokenizers';
import { afterAll, describe, expect, it } from 'vitest';

import {
  byteSymbols,
  SPECIAL_TOKENS,
  trainByteLevelBpe,
  writeTokenizerFiles,
} from '../../../src-main/backbone/tokenizer/bpe-training.js';
import { HfTokenizer } from '../../../src-main/backbone/tokenizer/hf-tokenizer.js';
import { applyChatTemplate } from '../../../src-main/backbone/tokenizer/chat-template.js';
import { seededRandom } from '../../../src-main/common/random.js';
import { SHARED_DIR } from '../../support/paths.js';
import { makeTempDir } from '../../support/temp.js';

const tmp = makeTempDir('clinprompt-bpe-');
afterAll(() => tmp.cleanup());

const corpus = path.join(tmp.dir, 'corpus.txt');
writeFileSync(corpus, readFileSync(path.join(SHARED_DIR, 'data', 'corpus', 'mtsamples.txt'), 'utf8').slice(0, 400_000));
const VOCAB = 1024;
const result = trainByteLevelBpe([corpus], VOCAB, 512);
writeTokenizerFiles(tmp.dir, result);
const tokenizer = HfTokenizer.fromFolder(tmp.dir);

/** Seeded random text over the whole Unicode range that JS strings hold (no lone surrogates). */
function randomText(seed: number, length: number): string {
  const random = seededRandom(seed);
  let s = '';
  while (s.length < length) {
    const pick = random();
    const cp =
      pick < 0.5
        ? Math.floor(random() * 128)
        : pick < 0.8
          ? Math.floor(random() * 0x800)
          : pick < 0.95
            ? Math.floor(random() * 0xd7ff)
            : 0x10000 + Math.floor(random() * 0xfffff);
    s += String.fromCodePoint(cp);
  }
  return s;
}

describe('byte-level BPE training', () => {
  it('lays the vocabulary out as special tokens, the 256 byte symbols, then merges in order', () => {
    const model = result.tokenizer['model'] as { vocab: Record<string, number>; merges: [string, string][] };
    expect(result.vocabSize).toBe(VOCAB);
    expect(tokenizer.vocabSize).toBe(VOCAB);
    expect(Object.values(SPECIAL_TOKENS).map((t) => tokenizer.tokenId(t))).toEqual([0, 1, 2, 3, 4, 5]);
    const symbols = byteSymbols();
    expect(new Set(symbols).size).toBe(256);
    symbols.forEach((s, b) => expect(model.vocab[s]).toBe(6 + b));
    expect(model.merges).toHaveLength(VOCAB - 6 - 256);
    model.merges.forEach(([a, b], i) => expect(model.vocab[a + b]).toBe(6 + 256 + i));
    // clinical text compresses: common words are single tokens
    expect(tokenizer.encode(' patient', { addSpecialTokens: false })).toHaveLength(1);
  });

  it('is deterministic: the same corpus gives the same tokenizer.json', () => {
    expect(JSON.stringify(trainByteLevelBpe([corpus], VOCAB, 512).tokenizer)).toBe(JSON.stringify(result.tokenizer));
  });

  it('round-trips every byte and any text losslessly, with BOS added by the post-processor', () => {
    const everyByteChar = Array.from({ length: 256 }, (_, b) => String.fromCharCode(b)).join('');
    const texts = [
      everyByteChar,
      'PREOPERATIVE DIAGNOSIS: Slit ventricle syndrome.\n\tBP 120/80, HR 72.  ',
      'naïve café — 😀 日本語 \u0000\u0001\r\n',
      ...Array.from({ length: 50 }, (_, i) => randomText(i + 1, 200)),
    ];
    for (const text of texts) {
      const ids = tokenizer.encode(text);
      expect(ids[0]).toBe(0);
      expect(tokenizer.decode(ids)).toBe(text);
    }
    // each byte alone is one token: nothing is unknown
    for (let b = 0; b < 128; b++)
      expect(tokenizer.encode(String.fromCharCode(b), { addSpecialTokens: false })).toHaveLength(1);
  });

  it("gives the same ids in the app's loader and in Hugging Face's Rust tokenizers", async () => {
    const { Tokenizer } = createRequire(import.meta.url)('tokenizers') as typeof Tokenizers;
    const rust = Tokenizer.fromFile(path.join(tmp.dir, 'tokenizer.json'));
    for (const text of ['HISTORY OF PRESENT ILLNESS: The patient is a 45-year-old male.', randomText(99, 300)]) {
      const encoding = await rust.encode(text);
      expect(encoding.getIds()).toEqual(tokenizer.encode(text));
    }
  });

  it('carries a LLaMA 3 style chat template over its special tokens', () => {
    const text = applyChatTemplate(tokenizer.config, [{ role: 'user', content: 'Summarize the note.' }]);
    expect(text).toBe(
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nSummarize the note.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    const ids = tokenizer.encode(text, { addSpecialTokens: false });
    expect(ids.filter((id) => id < 6)).toEqual([0, 3, 4, 5, 3, 4]);
  });
});
