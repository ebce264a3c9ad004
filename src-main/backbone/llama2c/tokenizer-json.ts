/**
 * A llama2.c tokenizer (tok*.bin) as a Hugging Face `tokenizer.json` + `tokenizer_config.json`:
 * the "legacy" LLaMA SentencePiece layout that transformers' LlamaConverter writes
 * (transformers/convert_slow_tokenizer.py: SentencePieceExtractor, LlamaConverter):
 * normalizer Prepend("▁") + Replace(" ", "▁"), BPE with byte_fallback, merges ordered by the score
 * of the merged piece, decoder Replace("▁", " ") + ByteFallback + Fuse + Strip(1 leading space),
 * and a post-processor that adds <s>.
 *
 * This gives the same ids as run.c's encoder: run.c's dummy-prefix space is the Prepend, and
 * "merge the adjacent pair whose result scores highest" is BPE with merges ranked by that score.
 */
import type { Llama2cVocab } from './tokenizer.js';
import { bosPostProcessor, specialAddedTokens } from '../tokenizer/tokenizer-json.js';

const SPACE = '▁';
const SPECIAL = ['<unk>', '<s>', '</s>'] as const;

/** A piece as HF stores it: UTF-8 text with "▁" for spaces; ids 0..2 are the special tokens. */
function hfPiece(vocab: Llama2cVocab, id: number): string {
  if (id < SPECIAL.length) return SPECIAL[id]!;
  return Buffer.from(vocab.pieces[id]!, 'latin1').toString('utf8').replaceAll(' ', SPACE);
}

export function llama2cTokenizerJson(vocab: Llama2cVocab): Record<string, unknown> {
  const pieces = vocab.pieces.map((_, id) => hfPiece(vocab, id));
  const ids = new Map<string, number>();
  pieces.forEach((p, id) => {
    if (!ids.has(p)) ids.set(p, id);
  });
  // SentencePieceExtractor: every split of a piece into two vocab pieces is a merge, ranked by the
  // merged piece's score (highest first); within a piece, by the ids of its parts
  const merges: { left: string; right: string; score: number }[] = [];
  pieces.forEach((piece, id) => {
    if (id < 3 + 256) return; // specials and byte pieces are never merge results
    const chars = Array.from(piece);
    const local: { left: string; right: string; score: number }[] = [];
    for (let i = 1; i < chars.length; i++) {
      const left = chars.slice(0, i).join('');
      const right = chars.slice(i).join('');
      if (ids.has(left) && ids.has(right)) local.push({ left, right, score: vocab.scores[id]! });
    }
    local.sort((a, b) => ids.get(a.left)! - ids.get(b.left)! || ids.get(a.right)! - ids.get(b.right)!);
    merges.push(...local);
  });
  merges.sort((a, b) => b.score - a.score); // stable, as Python's sorted
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specialAddedTokens(SPECIAL),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SPACE },
        { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: bosPostProcessor('<s>', SPECIAL.indexOf('<s>')),
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: Object.fromEntries(ids),
      merges: merges.map((m) => [m.left, m.right]),
    },
  };
}

export function llama2cTokenizerConfigJson(maxLength: number): Record<string, unknown> {
  return {
    tokenizer_class: 'LlamaTokenizerFast',
    add_bos_token: true,
    add_eos_token: false,
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    model_max_length: maxLength,
    clean_up_tokenization_spaces: false,
    legacy: true,
  };
}
