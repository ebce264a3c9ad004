/** What generation and scoring need from a tokenizer, whichever format it was loaded from. */
export interface TextTokenizer {
  readonly vocabSize: number;
  /** Token ids of `text`; with `addSpecialTokens` (default true) as the model's template adds them (e.g. BOS). */
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  /** Text of token ids; special tokens (BOS, EOS...) are skipped. */
  decode(ids: readonly number[]): string;
}
