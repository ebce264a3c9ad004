/**
 * Pieces of Hugging Face's tokenizer.json that every tokenizer ClinPrompt writes shares (the
 * converted llama2.c one and the trained byte-level BPE): special tokens as added tokens, and the
 * post-processor that puts BOS before each sequence, as LLaMA's tokenizers do.
 */

/** The special tokens as tokenizer.json's added_tokens, their ids their positions in the list. */
export function specialAddedTokens(tokens: readonly string[]) {
  return tokens.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
}

/** A TemplateProcessing post-processor adding `bos` (token id `bosId`) before each sequence. */
export function bosPostProcessor(bos: string, bosId: number) {
  return {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [
      { SpecialToken: { id: bos, type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: bos, type_id: 1 } },
      { Sequence: { id: 'B', type_id: 1 } },
    ],
    special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
  };
}
