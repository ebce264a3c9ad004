/**
 * Batched scoring of candidate continuations, for closed-label tasks (DESIGN.md §2: "scoring each
 * label's log-likelihood"): log P(candidate | prompt) = sum of the candidate tokens' log-softmax.
 * The prompt is run once; its KV cache is repeated across a batch holding every candidate
 * (right-padded, so causal attention never sees the padding of a shorter candidate).
 *
 * Candidate tokens are the tail of tokenize(prompt + candidate) after tokenize(prompt), as
 * lm-evaluation-harness does, so a SentencePiece word boundary is tokenized as in running text.
 */
import { UserError } from '../../common/errors.js';
import { ort } from '../../engine/session.js';
import { contextLimit } from '../hf/config.js';
import { cutMiddle } from './context-fit.js';
import type { BackboneRunner, KvCache, SoftPrompt } from './runner.js';

/**
 * Splits tokenize(prompt + candidate) into the prompt ids all candidates share and each
 * candidate's own ids. When a candidate's first characters merge with the prompt's last token,
 * the shared part shrinks so that every candidate is scored from the same prompt state.
 */
export function continuationIds(
  encode: (text: string) => number[],
  prompt: string,
  candidates: readonly string[],
): { promptIds: number[]; candidateIds: number[][] } {
  const promptIds = encode(prompt);
  const wholes = candidates.map((cand) => encode(prompt + cand));
  const common = (whole: number[]) => {
    let k = 0;
    while (k < promptIds.length && whole[k] === promptIds[k]) k++;
    return k;
  };
  const shared = Math.min(promptIds.length, ...wholes.map(common));
  return { promptIds: promptIds.slice(0, shared), candidateIds: wholes.map((w) => w.slice(shared)) };
}

export interface ScoringOptions {
  /** A soft prompt (prompt tuning / MPT task prompt) run before the text. */
  readonly prompt?: SoftPrompt | undefined;
  /** Tokenize with the tokenizer's special tokens (BOS) unless false. */
  readonly addSpecialTokens?: boolean;
}

/** Repeats a batch-1 cache `batch` times: (1, kv, P, h) -> (batch, kv, P, h). */
function repeatCache(cache: KvCache, batch: number): KvCache {
  const repeat = (t: ort.Tensor) => {
    // float32 caches hold Float32Array, float16 ones Uint16Array bit patterns
    if (t.type === 'float16') {
      const src = t.data as Uint16Array;
      const data = new Uint16Array(src.length * batch);
      for (let b = 0; b < batch; b++) data.set(src, b * src.length);
      return new ort.Tensor('float16', data, [batch, ...t.dims.slice(1)]);
    }
    const src = t.data as Float32Array;
    const data = new Float32Array(src.length * batch);
    for (let b = 0; b < batch; b++) data.set(src, b * src.length);
    return new ort.Tensor('float32', data, [batch, ...t.dims.slice(1)]);
  };
  return { batch, length: cache.length, keys: cache.keys.map(repeat), values: cache.values.map(repeat) };
}

/** log softmax(logits[offset .. offset + vocab))[id], stably. */
export function logSoftmaxAt(logits: Float32Array, offset: number, vocab: number, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]!);
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i]! - max);
  return logits[offset + id]! - max - Math.log(sum);
}

/**
 * Sum of log-probabilities of each candidate after `prompt` (natural log), in one batched pass
 * over the candidates after one pass over the prompt.
 */
export async function scoreContinuations(
  runner: BackboneRunner,
  prompt: string,
  candidates: readonly string[],
  options: ScoringOptions = {},
): Promise<number[]> {
  if (candidates.length === 0) return [];
  const tok = runner.backbone.tokenizer;
  const vocab = runner.config.vocabSize;
  const addSpecialTokens = options.addSpecialTokens ?? true;
  const ids = continuationIds((t) => tok.encode(t, { addSpecialTokens }), prompt, candidates);
  const { candidateIds } = ids;
  if (ids.promptIds.length === 0)
    throw new UserError('INVALID_ARGUMENT', 'Scoring needs a non-empty prompt (this tokenizer adds no BOS token).');
  const width = Math.max(...candidateIds.map((c) => c.length));
  const limit = contextLimit(runner.config);
  const room = limit - (options.prompt?.length ?? 0) - width;
  if (room < 8)
    throw new UserError(
      'INVALID_ARGUMENT',
      `The soft prompt and the longest candidate take ${limit - room} of this backbone's ${limit} tokens, leaving no room for the text. Shorten the candidates.`,
    );
  // a long note loses its middle, as in training (context-fit.ts)
  const promptIds = cutMiddle(ids.promptIds, room);
  // the prompt (with BOS) predicts each candidate's first token from its last position
  const head = await runner.step({ ids: [promptIds], prompt: options.prompt, past: runner.emptyCache(1) });
  const firstLogits = head.logits; // (1, 1, vocab)

  const B = candidates.length;
  const rows = candidateIds.map((c) => [...c, ...new Array<number>(width - c.length).fill(c.at(-1) ?? 0)]);
  // feed all but the last candidate token; logits at every fed position predict the next one
  const fed = rows.map((r) => r.slice(0, Math.max(width - 1, 1)));
  const T = fed[0]!.length;
  const body =
    width > 1
      ? await runner.step({
          ids: fed,
          past: repeatCache(head.present, B),
          logitPositions: fed.map(() => Array.from({ length: T }, (_, k) => k)),
        })
      : undefined;
  return candidateIds.map((ids, b) => {
    let total = 0;
    ids.forEach((id, k) => {
      total +=
        k === 0
          ? logSoftmaxAt(firstLogits, 0, vocab, id)
          : logSoftmaxAt(body!.logits, (b * T + (k - 1)) * vocab, vocab, id);
    });
    return total;
  });
}

/**
 * The runner as a scorer of closed labels: an object with `scoreContinuations(prompt, candidates)`,
 * the shape the tasks layer's `SequenceScorer` asks for (tasks import no backbone; the types meet
 * structurally in services).
 */
export function sequenceScorer(
  runner: BackboneRunner,
  options: ScoringOptions = {},
): { scoreContinuations(prompt: string, candidates: readonly string[]): Promise<number[]> } {
  return { scoreContinuations: (prompt, candidates) => scoreContinuations(runner, prompt, candidates, options) };
}
