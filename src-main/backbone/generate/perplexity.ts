/**
 * Held-out perplexity: exp of the mean negative log-likelihood of every token after the first of
 * each window (BOS + up to window - 1 text tokens, windows not overlapping), as language-model
 * papers report it for a fixed context length.
 */
import type { BackboneRunner } from './runner.js';
import { logSoftmaxAt } from './scoring.js';

export interface PerplexityResult {
  readonly perplexity: number;
  /** Mean negative log-likelihood per predicted token (nats). */
  readonly meanNll: number;
  readonly tokens: number;
}

export async function perplexity(
  runner: BackboneRunner,
  texts: readonly string[],
  window: number,
): Promise<PerplexityResult> {
  const tok = runner.backbone.tokenizer;
  const bos = runner.config.bosTokenId;
  let nll = 0;
  let tokens = 0;
  for (const text of texts) {
    const ids = tok.encode(text, { addSpecialTokens: false });
    for (let start = 0; start < ids.length; start += window - 1) {
      const row = [...(bos !== undefined ? [bos] : []), ...ids.slice(start, start + window - 1)];
      if (row.length < 2) continue;
      for (const loss of await tokenNlls(runner, row)) nll += loss;
      tokens += row.length - 1;
    }
  }
  const meanNll = nll / tokens;
  return { perplexity: Math.exp(meanNll), meanNll, tokens };
}

/** The negative log-likelihood of each token of `ids` after the first, given those before it (one forward). */
export async function tokenNlls(runner: BackboneRunner, ids: readonly number[]): Promise<number[]> {
  const vocab = runner.config.vocabSize;
  const positions = Array.from({ length: ids.length - 1 }, (_, k) => k);
  const out = await runner.step({ ids: [[...ids]], past: runner.emptyCache(1), logitPositions: [positions] });
  return positions.map((k) => -logSoftmaxAt(out.logits, k * vocab, vocab, ids[k + 1]!));
}
