/**
 * The trainer every method shares: a step computing the loss and the gradients of the method's
 * trainables (training-step.ts: one onnxruntime session over training-graph.ts, or the method's
 * own), AdamW in TypeScript on those tensors, warm-up then linear/cosine decay, global-norm
 * clipping, gradient accumulation, length-sorted padded batches, dynamic loss scaling with float16
 * compute on GPU providers, evaluation every N steps with early stopping (the caller supplies the
 * metric: training knows no task), resumable checkpoints and progress events. Training takes
 * plain values in: texts, never a database.
 *
 * Determinism: the initial values, the batch order and the dropout masks are functions of the
 * seed and the step, so a run killed and started again with the same command ends with the same
 * tensors as an unbroken one (checkpoint.ts holds everything else).
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';

import { CancelledError, UserError } from '../common/errors.js';
import { seededRandom } from '../common/random.js';
import type { ProviderChoice, ProviderName } from '../engine/index.js';
import { LOSS_SCALE_INPUT, LossScaler, ort } from '../engine/index.js';
import type { ComputeDType } from '../backbone/generate/inference-graph.js';
import { graphComputeDType } from '../backbone/generate/runner.js';
import { widenBf16Tensors } from '../backbone/hf/widen.js';
import type { Backbone } from '../backbone/load.js';
import { conversionCacheDir } from '../backbone/load.js';
import { assertFits, availableCpuBytes, estimateMemory, plannedProvider } from '../backbone/memory-plan.js';
import type { PeftAdapter } from './adapter-folder.js';
import type { TrainingText } from './batches.js';
import { collate, epochBatches, tokenizeExamples } from './batches.js';
import type { CheckpointState } from './checkpoint.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import type { MethodInstance } from './method.js';
import { newAdamWState } from './optim/adamw.js';
import { AdamWOptimizer } from './optim/optimizer.js';
import { learningRate } from './optim/schedule.js';
import { startTrainingStep } from './training-step.js';

export interface TrainingTask {
  readonly name: string;
  readonly texts: readonly TrainingText[];
}

export interface TrainProgress {
  readonly phase: 'train' | 'evaluate';
  readonly step: number;
  readonly totalSteps: number;
  readonly epoch: number;
  readonly loss?: number;
  readonly learningRate?: number;
  /** Real (non-padding) tokens in this step, for tokens/s. */
  readonly tokens?: number;
  readonly metric?: number;
  /** The task this step trained (multi-task runs), and its loss terms. */
  readonly task?: string;
  readonly parts?: Readonly<Record<string, number>>;
}

export interface TrainerOptions {
  readonly backbone: Backbone;
  readonly method: MethodInstance;
  readonly config: TrainConfig;
  /**
   * The tasks to learn: one for single-task training; several for MPT distillation, where each
   * step draws one task with probability proportional to its size, capped at taskSizeCap.
   */
  readonly tasks: readonly TrainingTask[];
  /** Folder for checkpoints (the run folder). */
  readonly runDir: string;
  /** What identifies the run beyond the method and config (e.g. the dataset and its version). */
  readonly dataKey: string;
  readonly provider?: ProviderChoice;
  /** The dev metric of the current state (higher is better); called every evalEvery steps and at the end. */
  readonly evaluate?: (adapter: PeftAdapter, step: number) => Promise<number>;
  /** Which tensors the run returns: the best evaluated (default), or the last (evaluation only watches). */
  readonly keep?: 'best' | 'last';
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: TrainProgress) => void;
}

export interface TrainOutcome {
  /** The tensors to keep: the best evaluated ones, else the last. */
  readonly values: Map<string, Float32Array>;
  readonly steps: number;
  readonly totalSteps: number;
  readonly losses: readonly number[];
  readonly evaluations: readonly { step: number; value: number }[];
  readonly best: { step: number; value: number } | null;
  /** Multi-task runs: per task, the loss terms of each step that trained it. */
  readonly taskParts: Readonly<Record<string, readonly TaskPartRecord[]>>;
  readonly stoppedEarly: boolean;
  readonly resumedFromStep: number;
  readonly truncatedExamples: number;
  readonly tokensSeen: number;
  readonly seconds: number;
  readonly provider: ProviderName;
  readonly trainableParameters: number;
}

/** Counts of the trainables, and their share of the backbone's parameters. */
export function trainableCount(method: MethodInstance): number {
  return method.trainables.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
}

/** A stable fingerprint of everything that determines a run's result. */
export function runKey(backbone: Backbone, method: MethodInstance, config: TrainConfig, dataKey: string): string {
  const { threads: _threads, ...determining } = config;
  return createHash('sha256')
    .update(
      JSON.stringify([
        backbone.fingerprint(),
        method.method,
        method.settings,
        determining,
        dataKey,
        ...(method.inputsDigest === undefined ? [] : [method.inputsDigest]),
      ]),
    )
    .digest('hex')
    .slice(0, 16);
}

/** grads[name] = (first ? 0 : grads[name]) + scale * g, in a buffer kept across steps. */
function accumulate(
  grads: Map<string, Float32Array>,
  name: string,
  g: Float32Array,
  first: boolean,
  scale: number,
): void {
  let sum = grads.get(name);
  if (!sum || sum === g) grads.set(name, (sum = new Float32Array(g.length)));
  if (first) for (let i = 0; i < g.length; i++) sum[i] = g[i]! * scale;
  else for (let i = 0; i < g.length; i++) sum[i]! += g[i]! * scale;
}

export interface TaskPartRecord {
  readonly step: number;
  readonly parts: Readonly<Record<string, number>>;
}

/** Each task's share of the steps: its size, capped (MPT's examples-proportional mixing). */
export function taskWeights(sizes: readonly number[], cap: number): number[] {
  const capped = sizes.map((n) => Math.min(n, cap));
  const total = capped.reduce((a, b) => a + b, 0);
  return capped.map((n) => n / total);
}

/** The task step `step` trains: a draw seeded by (seed, step), so a resumed run repeats it. */
export function taskOfStep(weights: readonly number[], seed: number, step: number): number {
  if (weights.length === 1) return 0;
  const u = seededRandom((seed * 40_503 + step * 2_246_822_519) >>> 0)();
  let acc = 0;
  for (let k = 0; k < weights.length; k++) if (u < (acc += weights[k]!)) return k;
  return weights.length - 1;
}

/** The 1-based epoch that optimizer step `step` (1-based) draws its micro-batches from. */
export function epochOfStep(step: number, gradAccumulation: number, batchesPerEpoch: number): number {
  return Math.floor(((step - 1) * gradAccumulation) / batchesPerEpoch) + 1;
}

export async function train(o: TrainerOptions): Promise<TrainOutcome> {
  const { backbone, method, config } = o;
  for (const t of o.tasks)
    if (t.texts.length === 0)
      throw new UserError('INVALID_ARGUMENT', `There are no training examples with a label in ${t.name}.`);
  const eos = backbone.eosTokenIds[0] ?? 0;
  const tokenized = o.tasks.map((t) => tokenizeExamples(backbone.tokenizer, eos, t.texts, config.maxLength));
  const truncated = tokenized.reduce((n, t) => n + t.truncated, 0);
  const lengthsOf = tokenized.map((t) => t.examples.map((e) => e.ids.length));
  const perEpoch = tokenized.map((t) => Math.ceil(t.examples.length / config.batchSize));
  const batchesPerEpoch = perEpoch.reduce((a, b) => a + b, 0);
  const mixing = taskWeights(
    tokenized.map((t) => t.examples.length),
    config.taskSizeCap,
  );
  const totalSteps =
    config.steps ?? Math.max(1, Math.ceil((batchesPerEpoch * config.epochs) / config.gradAccumulation));
  const warmup = config.warmupSteps ?? Math.round(0.06 * totalSteps);
  const peakLr = config.lr ?? method.defaultLr;
  const trainableParameters = trainableCount(method);
  // Mixed precision where it pays: float16 compute and loss scaling on GPU providers (not full FT,
  // whose weights are the float32 trainables themselves).
  const dtype: ComputeDType = method.method === 'full' ? 'float32' : graphComputeDType(o.provider);

  const memoryRequest = {
    provider: plannedProvider(o.provider),
    weightDType: backbone.weightDType,
    batch: config.batchSize,
    contextTokens: Math.min(config.maxLength, Math.max(...lengthsOf.flat())),
    mode: 'training',
    computeDType: dtype,
    trainableParameters,
    layerwise: method.layerwise === true,
  } as const;
  assertFits(estimateMemory(backbone.config, memoryRequest), availableCpuBytes(), backbone.sourceDir, memoryRequest);

  const key = runKey(backbone, method, config, o.dataKey);
  const tensors = widenBf16Tensors(backbone.tensors, backbone.weights, conversionCacheDir(), backbone.fingerprint());
  const session = await startTrainingStep({
    config: backbone.config,
    tensors,
    method,
    dtype,
    session: { provider: o.provider ?? 'cpu', ...(config.threads !== undefined && { threads: config.threads }) },
  });

  // ---- state: fresh, or restored from the run folder's checkpoint -------------------------------
  const values = method.initialValues(seededRandom(config.seed));
  const adam = newAdamWState(new Map(method.trainables.map((t) => [t.name, values.get(t.name)!.length])));
  // the best evaluated tensors, held only when the run returns them
  const keepsBest = o.keep !== 'last';
  let best: Map<string, Float32Array> | undefined;
  const scaler = new LossScaler();
  let state: CheckpointState = {
    runKey: key,
    step: 0,
    lossScale: scaler.scale,
    lossScaleGoodSteps: 0,
    losses: [],
    evaluations: [],
    best: null,
    evaluationsWithoutGain: 0,
    tokensSeen: 0,
    seconds: 0,
    taskParts: {},
  };
  const saved = readCheckpoint(o.runDir);
  if (saved) {
    if (saved.state.runKey !== key)
      throw new UserError(
        'ALREADY_EXISTS',
        `${o.runDir} holds a checkpoint of a different run (other method, settings, data or backbone). ` +
          `Choose another run folder, or delete that one to start over.`,
        { field: 'out' },
      );
    state = saved.state;
    for (const t of method.trainables) {
      values.set(t.name, saved.tensors.get(`value/${t.name}`)!);
      adam.m.set(t.name, saved.tensors.get(`m/${t.name}`)!);
      adam.v.set(t.name, saved.tensors.get(`v/${t.name}`)!);
    }
    adam.step = state.step;
    if (state.best && keepsBest)
      best = new Map(method.trainables.map((t) => [t.name, saved.tensors.get(`best/${t.name}`)!]));
    scaler.scale = state.lossScale;
    scaler.goodSteps = state.lossScaleGoodSteps;
  }
  const resumedFromStep = state.step;

  const checkpoint = () =>
    writeCheckpoint(
      o.runDir,
      { ...state, lossScale: scaler.scale, lossScaleGoodSteps: scaler.goodSteps },
      method.trainables.flatMap((t) => [
        { name: `value/${t.name}`, shape: t.shape, data: values.get(t.name)! },
        { name: `m/${t.name}`, shape: t.shape, data: adam.m.get(t.name)! },
        { name: `v/${t.name}`, shape: t.shape, data: adam.v.get(t.name)! },
        ...(best ? [{ name: `best/${t.name}`, shape: t.shape, data: best.get(t.name)! }] : []),
      ]),
    );

  const evaluateNow = async (step: number): Promise<void> => {
    if (!o.evaluate) return;
    o.onProgress?.({ phase: 'evaluate', step, totalSteps, epoch: epochOf(step) });
    const value = await o.evaluate(method.adapter(values), step);
    const improved = state.best === null || value > state.best.value;
    if (improved && keepsBest) best = new Map([...values].map(([n, v]) => [n, Float32Array.from(v)]));
    state = {
      ...state,
      evaluations: [...state.evaluations, { step, value }],
      best: improved ? { step, value } : state.best,
      evaluationsWithoutGain: improved ? 0 : state.evaluationsWithoutGain + 1,
    };
    o.onProgress?.({ phase: 'evaluate', step, totalSteps, epoch: epochOf(step), metric: value });
  };
  const epochOf = (step: number) => epochOfStep(step, config.gradAccumulation, batchesPerEpoch);

  // ---- the loop -------------------------------------------------------------------------------------
  let stoppedEarly = false;
  // Each task's own stream of batches; drawn[k] counts the micro-batches task k has given so far
  // (replayed from the task draws on resume, so the stream continues where it stopped).
  const epochCache = new Map<string, number[][]>();
  const drawn = o.tasks.map(() => 0);
  for (let step = 1; step <= state.step; step++)
    drawn[taskOfStep(mixing, config.seed, step)]! += config.gradAccumulation;
  const microBatch = (task: number) => {
    const index = drawn[task]!++;
    const epoch = Math.floor(index / perEpoch[task]!);
    const key = `${task}:${epoch}`;
    let batches = epochCache.get(key);
    if (!batches) {
      batches = epochBatches(
        lengthsOf[task]!,
        config.batchSize,
        config.seed + 7919 * task,
        epoch,
        config.groupByLength,
      );
      epochCache.set(key, batches);
    }
    return batches[index % perEpoch[task]!]!;
  };
  const started = performance.now() - state.seconds * 1000;
  // This step's gradients: onnxruntime's output buffers, or (with accumulation) buffers reused every step.
  const grads = new Map<string, Float32Array>();
  // A big update (full fine-tuning) runs on as many threads as onnxruntime's steps (idle meanwhile).
  const optimizer = AdamWOptimizer.start(
    method.trainables,
    { values, adam, grads },
    config,
    config.threads ?? availableParallelism(),
    config.gradAccumulation > 1,
  );
  try {
    while (state.step < totalSteps) {
      if (o.signal?.aborted) throw new CancelledError();
      const step = state.step + 1;
      const task = taskOfStep(mixing, config.seed, step);
      let loss = 0;
      let tokens = 0;
      const parts: Record<string, number> = {};
      for (let micro = 0; micro < config.gradAccumulation; micro++) {
        const batch = collate(tokenized[task]!.examples, microBatch(task), eos);
        const feeds: Record<string, ort.Tensor> = { ...batch.feeds };
        const random = seededRandom((config.seed * 2_654_435_761 + step * 97 + micro) >>> 0);
        for (const s of method.stepInputs ?? []) {
          const shape = s.shape.map((d) => (d === 'batch' ? batch.batch : d === 'tokens' ? batch.tokens : d));
          const size = shape.reduce((a, b) => a * b, 1);
          const data = s.dtype === 'int64' ? new BigInt64Array(size) : new Float32Array(size);
          s.fill(data, random, task);
          feeds[s.name] = new ort.Tensor(s.dtype ?? 'float32', data, shape);
        }
        if (dtype === 'float16') feeds[LOSS_SCALE_INPUT] = new ort.Tensor('float32', Float32Array.of(scaler.scale), []);
        const out = await session.run(feeds, values);
        loss += out.loss / config.gradAccumulation;
        for (const [name, value] of Object.entries(out.parts))
          parts[name] = (parts[name] ?? 0) + value / config.gradAccumulation;
        for (const t of method.trainables) {
          const g = out.grads.get(t.name)!;
          if (config.gradAccumulation === 1)
            grads.set(t.name, g); // onnxruntime's own buffer: no copy
          else accumulate(grads, t.name, g, micro === 0, 1 / config.gradAccumulation);
        }
        tokens += batch.realTokens;
      }
      // One pass for both checks: a non-finite gradient makes the norm non-finite.
      const norm = await optimizer.gradNorm();
      const finite = Number.isFinite(norm);
      const apply = dtype === 'float16' ? scaler.update(finite) : finite;
      if (!apply && dtype === 'float32')
        throw new UserError(
          'INVALID_ARGUMENT',
          `training diverged at step ${step} (the gradients are not finite): lower the learning rate (now ${peakLr}).`,
          { field: 'lr' },
        );
      const lr = learningRate(step, totalSteps, peakLr, warmup, config.schedule);
      await optimizer.step(apply, lr, norm > config.maxGradNorm ? config.maxGradNorm / norm : 1);
      const taskName = o.tasks[task]!.name;
      state = {
        ...state,
        step,
        losses: [...state.losses, loss],
        ...(Object.keys(parts).length > 0 && {
          taskParts: { ...state.taskParts, [taskName]: [...(state.taskParts[taskName] ?? []), { step, parts }] },
        }),
        tokensSeen: state.tokensSeen + tokens,
        seconds: (performance.now() - started) / 1000,
      };
      o.onProgress?.({
        phase: 'train',
        step,
        totalSteps,
        epoch: epochOf(step),
        loss,
        learningRate: lr,
        tokens,
        ...(o.tasks.length > 1 && { task: taskName }),
        ...(Object.keys(parts).length > 0 && { parts }),
      });
      if (config.evalEvery > 0 && step % config.evalEvery === 0 && step < totalSteps) {
        await evaluateNow(step);
        if (config.patience > 0 && state.evaluationsWithoutGain >= config.patience) {
          stoppedEarly = true;
          break;
        }
      }
      if (step % config.checkpointEvery === 0) checkpoint();
    }
    if (!stoppedEarly && o.evaluate && state.evaluations.at(-1)?.step !== state.step) await evaluateNow(state.step);
  } catch (error) {
    // Cancelled (or failed): keep what was done so the same command resumes from here.
    if (state.step > resumedFromStep && optimizer.intact) checkpoint();
    throw error instanceof CancelledError
      ? new CancelledError(
          `Training stopped at step ${state.step} of ${totalSteps}; the checkpoint in ${o.runDir} is kept. ` +
            `Run the same command again to resume.`,
        )
      : error;
  } finally {
    await session.release();
    await optimizer.close();
  }
  checkpoint();
  return {
    values: best ?? values,
    steps: state.step,
    totalSteps,
    losses: state.losses,
    evaluations: state.evaluations,
    best: state.best,
    taskParts: state.taskParts,
    stoppedEarly,
    resumedFromStep,
    truncatedExamples: truncated,
    tokensSeen: state.tokensSeen,
    seconds: state.seconds,
    provider: session.provider,
    trainableParameters,
  };
}
