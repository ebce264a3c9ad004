/**
 * A real, deterministic language model for testing closed-label selection independently of the
 * backbone: a character n-gram model, an equal-weight Jelinek-Mercer interpolation of add-one
 * smoothed estimates of orders 0..n-1 (Chen & Goodman 1999, section 2).
 * It is trained on text, gives a proper distribution over its character vocabulary, and scores a
 * continuation as the sum of log P(char | previous n-1 chars). It implements the same
 * `SequenceScorer` interface the backbone will.
 */
import type { SequenceScorer } from '../../../src-main/tasks/closed-label.js';

export class CharNgramLm implements SequenceScorer {
  readonly #counts = new Map<string, Map<string, number>>();
  readonly #totals = new Map<string, number>();
  readonly vocabulary = new Set<string>();

  constructor(
    readonly order: number,
    corpus: Iterable<string>,
  ) {
    for (const text of corpus) {
      for (let i = 0; i < text.length; i++) {
        const c = text[i] as string;
        this.vocabulary.add(c);
        for (let k = 0; k < order; k++) {
          if (i - k < 0) break;
          const context = text.slice(i - k, i);
          const next = this.#counts.get(context) ?? new Map<string, number>();
          next.set(c, (next.get(c) ?? 0) + 1);
          this.#counts.set(context, next);
          this.#totals.set(context, (this.#totals.get(context) ?? 0) + 1);
        }
      }
    }
    this.vocabulary.add('\u0000'); // room for unseen characters
  }

  /** P(c | history): equal-weight interpolation of add-one estimates for contexts of length 0..order-1. */
  probability(history: string, c: string): number {
    const v = this.vocabulary.size;
    let p = 0;
    for (let k = 0; k < this.order; k++) {
      const context = history.slice(Math.max(0, history.length - k));
      const count = context.length === k ? (this.#counts.get(context)?.get(c) ?? 0) : 0;
      const total = context.length === k ? (this.#totals.get(context) ?? 0) : 0;
      p += (count + 1) / (total + v);
    }
    return p / this.order;
  }

  logLikelihood(prompt: string, continuation: string): number {
    let ll = 0;
    let history = prompt;
    for (const c of continuation) {
      ll += Math.log(this.probability(history, this.vocabulary.has(c) ? c : '\u0000'));
      history += c;
    }
    return ll;
  }

  async scoreContinuations(prompt: string, candidates: readonly string[]): Promise<number[]> {
    return candidates.map((candidate) => this.logLikelihood(prompt, candidate));
  }
}
