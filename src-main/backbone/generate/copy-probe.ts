/**
 * In-context copying, the "induction" measurement of Olsson et al. (2022): a span of held-out
 * text is read twice in one window, and a model that uses its context predicts the second copy far
 * better than the first. A soft prompt steers a frozen backbone only through what the backbone reads
 * from its context, so a backbone that gains almost nothing here cannot be adapted by prompt tuning,
 * whatever the method: this is the number to check before blaming the method.
 */
import type { BackboneRunner } from './runner.js';
import { tokenNlls } from './perplexity.js';

export interface CopyProbeResult {
  /** Mean negative log-likelihood per token of the first reading (nats). */
  readonly firstNll: number;
  /** The same tokens, read a second time right after the first. */
  readonly secondNll: number;
  /** firstNll - secondNll: how much seeing the text once helps (0 for a model blind to its context). */
  readonly gain: number;
  readonly spans: number;
  readonly spanTokens: number;
}

/** The first `spanTokens` tokens of each text long enough (at most `maxSpans` texts), read twice. */
export async function copyProbe(
  runner: BackboneRunner,
  texts: readonly string[],
  spanTokens = 48,
  maxSpans = 40,
): Promise<CopyProbeResult> {
  const tok = runner.backbone.tokenizer;
  const bos = runner.config.bosTokenId;
  const head = bos !== undefined ? [bos] : [];
  let first = 0;
  let second = 0;
  let spans = 0;
  for (const text of texts) {
    if (spans === maxSpans) break;
    const span = tok.encode(text, { addSpecialTokens: false }).slice(0, spanTokens);
    if (span.length < spanTokens) continue;
    const nll = await tokenNlls(runner, [...head, ...span, ...span]);
    // nll[i] is the loss of token i + 1; the first token of each copy is left out (no copy can predict it)
    const start = head.length;
    for (let k = 1; k < spanTokens; k++) {
      first += nll[start + k - 1]!;
      second += nll[start + spanTokens + k - 1]!;
    }
    spans++;
  }
  const count = spans * (spanTokens - 1);
  const firstNll = count > 0 ? first / count : NaN;
  const secondNll = count > 0 ? second / count : NaN;
  return { firstNll, secondNll, gain: firstNll - secondNll, spans, spanTokens };
}
