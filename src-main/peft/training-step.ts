/**
 * One forward + backward pass over a micro-batch, as the trainer and the training benchmark run
 * it: the loss, the method's logged loss terms and the gradient of every trainable. Most methods
 * run it as one onnxruntime session over one graph (training-graph.ts); a method may bring its own
 * (full fine-tuning's layer-by-layer step, full/layerwise-step.ts).
 */
import type { ProviderName, SessionOptions } from '../engine/index.js';
import { createSession, ort } from '../engine/index.js';
import type { ComputeDType } from '../backbone/generate/inference-graph.js';
import type { LlamaConfig } from '../backbone/hf/config.js';
import type { TensorEntry } from '../backbone/hf/safetensors.js';
import type { MethodInstance, TensorValues } from './method.js';
import { buildMethodTrainingModel, partOutput } from './training-graph.js';

export interface StepResult {
  readonly loss: number;
  /** The method's loss terms (MPT distillation: ce, kl, mse), by name. */
  readonly parts: Readonly<Record<string, number>>;
  /** Every trainable's gradient, by name: buffers the caller may keep (nothing else holds them). */
  readonly grads: ReadonlyMap<string, Float32Array>;
}

export interface TrainingStep {
  /** The execution provider the step runs on (after any fallback). */
  readonly provider: ProviderName;
  /** Its onnxruntime sessions, each with its own intra-op thread pool. */
  readonly sessions: number;
  /**
   * feeds: the batch's inputs (batches.ts collate), the method's step inputs and, with float16
   * compute, the loss scale; values: the trainables' current values.
   */
  run(feeds: Readonly<Record<string, ort.Tensor>>, values: TensorValues): Promise<StepResult>;
  release(): Promise<void>;
}

export interface StepContext {
  readonly config: LlamaConfig;
  /** The backbone's tensors, float32/float16 (bf16 widened). */
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  readonly method: MethodInstance;
  readonly dtype: ComputeDType;
  readonly session: SessionOptions;
}

/** The trainables as graph feeds, under their own names. */
export function trainableFeeds(method: MethodInstance, values: TensorValues): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of method.trainables) feeds[t.name] = new ort.Tensor('float32', values.get(t.name)!, [...t.shape]);
  return feeds;
}

/** The method's step: its own where it has one, else one session over the whole training graph. */
export function startTrainingStep(ctx: StepContext): Promise<TrainingStep> {
  return ctx.method.trainingStep?.(ctx) ?? wholeGraphStep(ctx);
}

/** Loss and gradients from one session.run of the method's training graph. */
export async function wholeGraphStep(ctx: StepContext): Promise<TrainingStep> {
  const { method } = ctx;
  const model = buildMethodTrainingModel(ctx.config, ctx.tensors, method, ctx.dtype);
  const partNames = model.outputs
    .map((x) => x.name)
    .filter((n) => n.startsWith(partOutput('')))
    .map((n) => n.slice(partOutput('').length));
  const session = await createSession(model, ctx.session);
  return {
    provider: session.provider,
    sessions: 1,
    async run(feeds, values) {
      const out = await session.run({ ...feeds, ...trainableFeeds(method, values) });
      const parts: Record<string, number> = {};
      for (const name of partNames) parts[name] = Number(out[partOutput(name)]!.data[0]);
      const grads = new Map<string, Float32Array>();
      for (const t of method.trainables) grads.set(t.name, out[model.gradientOutputs[t.name]!]!.data as Float32Array);
      return { loss: Number(out[model.lossOutput]!.data[0]), parts, grads };
    },
    release: () => session.release(),
  };
}
