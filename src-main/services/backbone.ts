/**
 * The backbone use cases: describe a model folder, convert a llama2.c one, generate text and score
 * candidate continuations, with or without a PEFT adapter. `clinprompt backbone info|convert`,
 * `generate` and `score` are thin front ends over these, as the app's screens will be.
 */
import { DEFAULT_MAX_TOKENS, generate, type GenerateResult } from '../backbone/generate/decoding.js';
import { BackboneRunner } from '../backbone/generate/runner.js';
import { scoreContinuations } from '../backbone/generate/scoring.js';
import type { LlamaConfig } from '../backbone/hf/config.js';
import { describeBackbone, type BackboneInfo } from '../backbone/info.js';
import { convertLlama2cFolder } from '../backbone/llama2c/convert.js';
import { openBackbone, type Backbone } from '../backbone/load.js';
import type { ExecutionProvider } from '../backbone/memory-plan.js';
import { applyChatTemplate } from '../backbone/tokenizer/chat-template.js';
import { UserError } from '../common/errors.js';
import type { ProviderChoice, ProviderName } from '../engine/session.js';
import type { PeftAdapter } from '../peft/adapter-folder.js';
import { openAdapterSource, type PackAccess } from './packs.js';

export { DEFAULT_MAX_TOKENS };

export interface BackboneInfoRequest {
  /** A Hugging Face or llama2.c model folder. */
  readonly backbone: string;
  /** Where the memory estimate is for (default cpu). */
  readonly provider?: ExecutionProvider;
  /** Context length of the memory estimate (default 2048, capped at the model's maximum). */
  readonly contextTokens?: number;
}

export function backboneInfo(request: BackboneInfoRequest): BackboneInfo {
  return describeBackbone(openBackbone(request.backbone), request.provider, request.contextTokens);
}

/** Converts a llama2.c folder (model .bin + tok*.bin) into a Hugging Face folder at `dest`. */
export function convertBackbone(
  source: string,
  dest: string,
): { readonly folder: string; readonly config: LlamaConfig } {
  return { folder: dest, config: convertLlama2cFolder(source, dest) };
}

/** Settings shared by generation and scoring. */
interface RunRequest {
  readonly backbone: string;
  /** A training run folder, a PEFT adapter folder (prompt tuning, multitask prompt tuning, LoRA) or a prompt pack. */
  readonly adapter?: string;
  /** The store's signers and packs (asked only when `adapter` is a pack). */
  readonly packs?: () => Promise<PackAccess>;
  /** Which task of a multitask prompt-tuning adapter (default 0). */
  readonly taskId?: number;
  readonly threads?: number;
}

export interface GenerateRequest extends RunRequest {
  readonly prompt: string;
  /** Wrap the prompt as one user message with the model's chat template. */
  readonly chat?: boolean;
  readonly maxTokens?: number;
  readonly temperature?: number;
  readonly topP?: number;
  readonly seed?: number;
  readonly stop?: readonly string[];
  readonly provider?: ProviderChoice;
}

export interface GenerateOutcome extends GenerateResult {
  /** The text the model continued (the chat-formatted prompt with `chat`). */
  readonly prompt: string;
  /** The execution provider that ran it. */
  readonly provider: ProviderName;
}

export async function generateText(request: GenerateRequest): Promise<GenerateOutcome> {
  const { backbone, adapter } = await withAdapter(request, openBackbone(request.backbone));
  // chat templates write their own BOS, as transformers' apply_chat_template does
  const text = request.chat
    ? applyChatTemplate(backbone.tokenizer.config, [{ role: 'user', content: request.prompt }], {
        source: `${backbone.hfDir}/tokenizer_config.json`,
      })
    : request.prompt;
  return withRunner(backbone, request, adapter, {}, async (runner) => {
    const result = await generate(runner, text, {
      addSpecialTokens: !request.chat,
      prompt: adapter?.prompt,
      maxTokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
      temperature: request.temperature ?? 0,
      ...(request.topP !== undefined && { topP: request.topP }),
      ...(request.seed !== undefined && { seed: request.seed }),
      ...(request.stop !== undefined && { stop: request.stop }),
    });
    return { prompt: text, ...result, provider: runner.provider };
  });
}

export interface ScoreRequest extends RunRequest {
  /** The text the candidates continue. */
  readonly prompt: string;
  /** Continuations to score, each with its leading space. */
  readonly candidates: readonly string[];
}

export interface CandidateScore {
  readonly candidate: string;
  readonly logLikelihood: number;
}

/** The log-likelihood of each candidate after the prompt, in one batch (closed-label scoring). */
export async function scoreCandidates(request: ScoreRequest): Promise<CandidateScore[]> {
  if (request.candidates.length === 0)
    throw new UserError('INVALID_ARGUMENT', 'Give at least one continuation to score.', { field: 'candidates' });
  const { backbone, adapter } = await withAdapter(request, openBackbone(request.backbone));
  return withRunner(backbone, request, adapter, { batch: request.candidates.length }, async (runner) => {
    const scores = await scoreContinuations(runner, request.prompt, request.candidates, { prompt: adapter?.prompt });
    return request.candidates.map((candidate, k) => ({ candidate, logLikelihood: scores[k]! }));
  });
}

/**
 * The backbone to run and the adapter to apply: a full fine-tuning run folder brings its own
 * weights (peft/run-folder.ts); other adapters change the prompt or the graph.
 */
async function withAdapter(
  request: RunRequest,
  backbone: Backbone,
): Promise<{ backbone: Backbone; adapter?: PeftAdapter }> {
  if (!request.adapter) return { backbone };
  return openAdapterSource(request.adapter, backbone, {
    ...(request.taskId !== undefined && { taskId: request.taskId }),
    ...(request.packs && { packs: request.packs }),
  });
}

/** Runs `work` on a runner for `backbone` (with the adapter's graph change) and releases it. */
async function withRunner<T>(
  backbone: Backbone,
  request: RunRequest & { readonly provider?: ProviderChoice },
  adapter: PeftAdapter | undefined,
  options: { readonly batch?: number },
  work: (runner: BackboneRunner) => Promise<T>,
): Promise<T> {
  const runner = await BackboneRunner.create(backbone, {
    ...options,
    ...(request.provider !== undefined && { provider: request.provider }),
    ...(adapter?.graph && { adapter: adapter.graph }),
    ...(request.threads !== undefined && { threads: request.threads }),
  });
  try {
    return await work(runner);
  } finally {
    await runner.release();
  }
}
