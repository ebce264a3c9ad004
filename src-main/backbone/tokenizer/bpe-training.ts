/**
 * Trains the embedded backbone's byte-level BPE tokenizer (GPT-2 / LLaMA 3 style: bytes mapped to
 * printable characters, the GPT-2 split regex, no unknown token) with Hugging Face's `tokenizers`
 * (the Rust trainer's Node binding; a dev dependency, needed only to rebuild the backbone).
 *
 * The binding trains with its default trainer settings (30,000 tokens, no special tokens, only the
 * bytes seen in the corpus), so we keep its first merges: BPE training is greedy, so the first
 * n merges are exactly what a trainer stopped at n merges returns. The vocabulary is then laid out
 * as: special tokens, all 256 byte symbols (every byte sequence encodes), merged tokens in merge
 * order. The result is a standard tokenizer.json that both transformers' and the app's loader read.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import type * as Tokenizers from 'tokenizers';

import { UserError } from '../../common/errors.js';
import { bosPostProcessor, specialAddedTokens } from './tokenizer-json.js';

/** LLaMA 3's names, so chat templates written for it read naturally. */
export const SPECIAL_TOKENS = {
  bos: '<|begin_of_text|>',
  eos: '<|end_of_text|>',
  pad: '<|pad|>',
  startHeader: '<|start_header_id|>',
  endHeader: '<|end_header_id|>',
  endOfTurn: '<|eot_id|>',
} as const;

/** LLaMA 3's instruction format: a header per turn, each turn ended by <|eot_id|>. */
export const CHAT_TEMPLATE =
  "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n{{ m['content'] | trim }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}";

/** GPT-2's byte-to-character table: printable bytes stand for themselves, the rest move to 256+. */
export function byteSymbols(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const symbols: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) symbols.push(String.fromCodePoint(printable(b) ? b : next++));
  return symbols;
}

export interface BpeTrainingResult {
  /** tokenizer.json contents. */
  readonly tokenizer: Record<string, unknown>;
  /** tokenizer_config.json contents. */
  readonly config: Record<string, unknown>;
  readonly vocabSize: number;
  readonly merges: number;
}

type NativeTokenizers = typeof Tokenizers;

function loadNativeTokenizers(): NativeTokenizers {
  try {
    return createRequire(import.meta.url)('tokenizers') as NativeTokenizers;
  } catch (error) {
    throw new UserError(
      'UNSUPPORTED',
      'Training a tokenizer needs the "tokenizers" package (a development dependency). Run npm ci in a source checkout.',
      { cause: error },
    );
  }
}

/** Merges learned by the Rust trainer on `files`, in the order it learned them. */
function learnMerges(files: readonly string[]): [string, string][] {
  const { Tokenizer, BPE, byteLevelPreTokenizer } = loadNativeTokenizers();
  const tokenizer = new Tokenizer(BPE.empty());
  tokenizer.setPreTokenizer(byteLevelPreTokenizer(false, true));
  tokenizer.train([...files]);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clinprompt-bpe-'));
  try {
    const file = path.join(dir, 'tokenizer.json');
    tokenizer.save(file);
    const merges = (JSON.parse(readFileSync(file, 'utf8')) as { model: { merges: unknown[] } }).model.merges;
    // older writers store "a b" strings, newer ones pairs
    return merges.map((m) => (typeof m === 'string' ? (m.split(' ') as [string, string]) : (m as [string, string])));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A byte-level BPE of `vocabSize` tokens learned from the text files. Deterministic: the same
 * files give the same merges.
 */
export function trainByteLevelBpe(files: readonly string[], vocabSize: number, maxLength: number): BpeTrainingResult {
  const specials = Object.values(SPECIAL_TOKENS);
  const symbols = byteSymbols();
  const wanted = vocabSize - specials.length - symbols.length;
  if (wanted <= 0)
    throw new UserError('INVALID_ARGUMENT', `A vocabulary of ${vocabSize} tokens leaves no room for merges.`);
  const vocab: Record<string, number> = {};
  specials.forEach((t, i) => (vocab[t] = i));
  for (const s of symbols) vocab[s] = Object.keys(vocab).length;
  const merges: [string, string][] = [];
  for (const [a, b] of learnMerges(files)) {
    if (merges.length === wanted) break;
    if (vocab[a] === undefined || vocab[b] === undefined || vocab[a + b] !== undefined) continue;
    vocab[a + b] = Object.keys(vocab).length;
    merges.push([a, b]);
  }
  if (merges.length < wanted)
    throw new UserError(
      'INVALID_ARGUMENT',
      `The corpus yields only ${merges.length} merges; ask for a vocabulary of at most ${specials.length + symbols.length + merges.length} tokens.`,
    );
  const bosId = vocab[SPECIAL_TOKENS.bos]!;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specialAddedTokens(specials),
    normalizer: null,
    pre_tokenizer: byteLevel,
    // like LLaMA 3: <|begin_of_text|> before every sequence
    post_processor: bosPostProcessor(SPECIAL_TOKENS.bos, bosId),
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: SPECIAL_TOKENS.bos,
    eos_token: SPECIAL_TOKENS.eos,
    pad_token: SPECIAL_TOKENS.pad,
    model_max_length: maxLength,
    clean_up_tokenization_spaces: false,
    chat_template: CHAT_TEMPLATE,
    added_tokens_decoder: Object.fromEntries(
      specials.map((content, id) => [
        String(id),
        { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true },
      ]),
    ),
  };
  return { tokenizer, config, vocabSize: Object.keys(vocab).length, merges: merges.length };
}

/** Writes tokenizer.json and tokenizer_config.json into `dir`. */
export function writeTokenizerFiles(dir: string, result: BpeTrainingResult): void {
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(result.tokenizer));
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(result.config, null, 2));
}
