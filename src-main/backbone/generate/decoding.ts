/**
 * Text generation on a BackboneRunner: prefill the prompt once, then one token per step reusing
 * the KV cache. Greedy (temperature 0) or sampled (temperature, top-p nucleus as in llama2.c's
 * run.c `sample_topp`, a seeded generator so runs repeat), stopping at an end-of-sequence id, a
 * stop sequence, max tokens, or the model's context length.
 */
import { cutMiddle } from './context-fit.js';
import { UserError } from '../../common/errors.js';
import { seededRandom } from '../../common/random.js';
import { contextLimit } from '../hf/config.js';
import type { BackboneRunner, SoftPrompt } from './runner.js';

export interface GenerateOptions {
  /** New tokens at most (default 256, as llama2.c's run.c steps). */
  readonly maxTokens?: number;
  /** 0 = greedy (default). */
  readonly temperature?: number;
  /** Nucleus sampling threshold in (0, 1]; 1 = off (default 0.9 when sampling, as run.c). */
  readonly topP?: number;
  readonly seed?: number;
  /** Generation stops before the first occurrence of any of these strings. */
  readonly stop?: readonly string[];
  readonly prompt?: SoftPrompt | undefined;
  /** Prompt text is tokenized with the tokenizer's special tokens (BOS) unless false. */
  readonly addSpecialTokens?: boolean;
  /**
   * A prompt too long for the context loses its middle (as in training and scoring: context-fit.ts),
   * keeping room for `maxTokens` new tokens, at most a quarter of the context. Evaluation sets it (a
   * long note must not stop a test run); the `generate` command does not (the user's prompt is kept whole or refused).
   */
  readonly cutToFit?: boolean;
}

export interface GenerateResult {
  /** The generated continuation (without the prompt). */
  readonly text: string;
  readonly promptTokens: number;
  readonly tokens: readonly number[];
  readonly stoppedBy: 'eos' | 'stop-sequence' | 'max-tokens' | 'context-length';
  /** Prompt processing (prefill) time, and decode throughput: cached single-token steps per second. */
  readonly prefillSeconds: number;
  readonly decodeSeconds: number;
  readonly tokensPerSecond: number;
}

export const DEFAULT_MAX_TOKENS = 256;

export function argmax(logits: Float32Array, from = 0, length = logits.length - from): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (logits[from + i]! > logits[from + best]!) best = i;
  return best;
}

/** Samples from softmax(logits / temperature) restricted to the top-p nucleus. */
export function sampleToken(logits: Float32Array, temperature: number, topP: number, uniform: () => number): number {
  const max = logits.reduce((m, v) => Math.max(m, v), -Infinity);
  const probs = Float64Array.from(logits, (v) => Math.exp((v - max) / temperature));
  const total = probs.reduce((a, b) => a + b, 0);
  const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]!);
  let kept = 0;
  let mass = 0;
  for (const id of order) {
    mass += probs[id]! / total;
    kept++;
    if (mass >= topP) break;
  }
  let r = uniform() * mass;
  for (let k = 0; k < kept; k++) {
    r -= probs[order[k]!]! / total;
    if (r <= 0) return order[k]!;
  }
  return order[kept - 1]!;
}

/** Index of the earliest stop sequence in `text`, or -1. */
function firstStop(text: string, stops: readonly string[]): number {
  const hits = stops.map((s) => text.indexOf(s)).filter((i) => i >= 0);
  return hits.length > 0 ? Math.min(...hits) : -1;
}

function checkOptions(o: GenerateOptions): void {
  if (o.maxTokens !== undefined && (!Number.isSafeInteger(o.maxTokens) || o.maxTokens <= 0))
    throw new UserError('INVALID_ARGUMENT', `--max-tokens must be a positive integer (got ${o.maxTokens}).`);
  if (o.temperature !== undefined && !(o.temperature >= 0))
    throw new UserError('INVALID_ARGUMENT', `--temperature must be 0 (greedy) or more (got ${o.temperature}).`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1))
    throw new UserError('INVALID_ARGUMENT', `--top-p must be in (0, 1] (got ${o.topP}).`);
}

export async function generate(
  runner: BackboneRunner,
  promptText: string,
  options: GenerateOptions = {},
): Promise<GenerateResult> {
  checkOptions(options);
  const { tokenizer, eosTokenIds, config } = runner.backbone;
  let promptIds = tokenizer.encode(promptText, { addSpecialTokens: options.addSpecialTokens ?? true });
  const virtual = options.prompt?.length ?? 0;
  if (promptIds.length === 0)
    throw new UserError(
      'INVALID_ARGUMENT',
      'The prompt is empty and this tokenizer adds no BOS token; give some text.',
    );
  const limit = contextLimit(config);
  if (options.cutToFit) {
    const reserve = Math.min(options.maxTokens ?? DEFAULT_MAX_TOKENS, Math.floor(limit / 4));
    promptIds = cutMiddle(promptIds, Math.max(1, limit - virtual - reserve));
  }
  const room = limit - promptIds.length - virtual;
  if (room <= 0)
    throw new UserError(
      'INVALID_ARGUMENT',
      `The prompt is ${promptIds.length + virtual} tokens long; this backbone takes at most ${limit}. Shorten the prompt.`,
    );
  const maxTokens = Math.min(options.maxTokens ?? DEFAULT_MAX_TOKENS, room);
  const temperature = options.temperature ?? 0;
  const uniform = seededRandom(options.seed ?? 42);
  const stops = (options.stop ?? []).filter((s) => s.length > 0);
  const eos = new Set(eosTokenIds);

  const t0 = performance.now();
  let out = await runner.step({ ids: [promptIds], prompt: options.prompt, past: runner.emptyCache(1) });
  const t1 = performance.now();
  const tokens: number[] = [];
  let text = '';
  let decodeSteps = 0;
  // decode prompt + continuation together: a SentencePiece decoder strips the first token's space
  const promptDecoded = tokenizer.decode(promptIds);
  const continuation = () => {
    const full = tokenizer.decode([...promptIds, ...tokens]);
    return full.startsWith(promptDecoded) ? full.slice(promptDecoded.length) : tokenizer.decode(tokens);
  };
  let stoppedBy: GenerateResult['stoppedBy'] =
    maxTokens < (options.maxTokens ?? DEFAULT_MAX_TOKENS) ? 'context-length' : 'max-tokens';
  for (;;) {
    const next =
      temperature === 0 ? argmax(out.logits) : sampleToken(out.logits, temperature, options.topP ?? 0.9, uniform);
    if (eos.has(next)) {
      stoppedBy = 'eos';
      break;
    }
    tokens.push(next);
    // stop sequences are matched on text (they may span tokens): decode only when there are some
    const hit = stops.length > 0 ? firstStop(continuation(), stops) : -1;
    if (hit >= 0) {
      text = continuation().slice(0, hit);
      stoppedBy = 'stop-sequence';
      break;
    }
    if (tokens.length >= maxTokens) break;
    out = await runner.step({ ids: [[next]], past: out.present });
    decodeSteps++;
  }
  const t2 = performance.now();
  if (stoppedBy !== 'stop-sequence') text = continuation();
  const decodeSeconds = (t2 - t1) / 1000;
  return {
    text,
    promptTokens: promptIds.length,
    tokens,
    stoppedBy,
    prefillSeconds: (t1 - t0) / 1000,
    decodeSeconds,
    // one step per token after the first (which the prefill yields)
    tokensPerSecond: decodeSeconds > 0 ? decodeSteps / decodeSeconds : 0,
  };
}
