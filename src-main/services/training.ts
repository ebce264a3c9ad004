/**
 * The training and evaluation use cases: read a task's examples (a store dataset, or an exported
 * file on a cluster node without the store), frame them with the task's template, train a method
 * (peft/trainer.ts) with the task's own dev metric, write the run folder, evaluate a run or the
 * untrained backbone with bootstrap intervals and predictions, and record runs in the store.
 * This is the one place where tasks, training and the store meet.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { CancelledError, UserError } from '../common/errors.js';
import { log } from '../common/log.js';
import type { ProviderChoice } from '../engine/index.js';
import { generate } from '../backbone/generate/decoding.js';
import { BackboneRunner } from '../backbone/generate/runner.js';
import { sequenceScorer } from '../backbone/generate/scoring.js';
import type { Backbone } from '../backbone/load.js';
import type { ImportFormat } from '../common/vocabulary.js';
import type { MappingSpec } from '../data/mapping.js';
import { readDataset, type ReadDataset, type ReadOptions } from '../data/read-dataset.js';
import { kShotPerLabel, sampleKShot } from '../data/splits.js';
import { ADAPTER_WEIGHTS, type PeftAdapter } from '../peft/adapter-folder.js';
import type { TrainingText } from '../peft/batches.js';
import type { TrainConfig } from '../peft/config.js';
import type { MethodInstance } from '../peft/method.js';
import { RUN_FILE, writeRunFolder, type RunRecord } from '../peft/run-folder.js';
import { train, type TaskPartRecord, type TrainProgress } from '../peft/trainer.js';
import { predictClosedLabel } from '../tasks/closed-label.js';
import { evaluate, headlineMetric, type Evaluation } from '../tasks/evaluate.js';
import { frameExample, framePrompt, taskDefinition, type TaskConfig } from '../tasks/registry.js';
import type { Example, Split, TaskTarget, TaskType } from '../tasks/types.js';
import type { Permission } from '../store/permissions.js';
import type { StoreSession } from '../store/session.js';
import type { Store } from '../store/store.js';
import { SOURCE_TASKS } from '../data/catalogue.js';
import { plainExample, taskConfigOf } from './datasets.js';

/** A task's labelled examples as plain values, wherever they came from. */
export interface TaskData {
  readonly name: string;
  /** Changes whenever the examples do: part of a run's identity. */
  readonly version: string;
  readonly task: TaskConfig;
  readonly examples: readonly Example[];
}

export interface StoreAccess {
  readonly store: Store;
  readonly session: StoreSession;
}

/** An exported or hand-made file (anything the JSONL/CSV importers read), or a store dataset by name. */
export function isDataFile(source: string): boolean {
  return /\.(jsonl|json|csv)$/i.test(source) && existsSync(source) && statSync(source).isFile();
}

/** How to read a file or folder as `clinprompt import` does: its format, column mapping and import settings. */
export interface ImportedSource {
  readonly format: ImportFormat;
  readonly mapping?: MappingSpec;
  readonly read?: Omit<ReadOptions, 'task' | 'mapping'>;
}

export async function readTaskData(
  source: string,
  options: { task?: TaskType; store?: () => Promise<StoreAccess>; imported?: ImportedSource | undefined },
): Promise<TaskData> {
  if (options.imported) return readImportedData(source, options.task, options.imported);
  if (isDataFile(source)) {
    if (!options.task)
      throw new UserError('INVALID_ARGUMENT', `${source} is a file: say which task it holds.`, { field: 'task' });
    const format = source.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl';
    const read = await readDataset(format, source, { task: options.task });
    const stat = statSync(source);
    return taskDataOf(path.basename(source), `${stat.size}:${stat.mtimeMs}`, options.task, read);
  }
  if (!options.store)
    throw new UserError('NOT_FOUND', `${source} is neither a data file nor a dataset name this command can reach.`);
  return readStoreData(await options.store(), source, TRAINING_READ);
}

/**
 * Any file or folder `clinprompt import` reads, read into memory instead of the store. Its
 * version hashes the examples read: a folder's own time stamp does not change with its files.
 */
async function readImportedData(
  source: string,
  task: TaskType | undefined,
  imported: ImportedSource,
): Promise<TaskData> {
  if (!existsSync(source)) throw new UserError('NOT_FOUND', `${source} does not exist.`, { field: 'data' });
  if (!task)
    throw new UserError('INVALID_ARGUMENT', `${source} is read as ${imported.format}: say which task it holds.`, {
      field: 'task',
    });
  const read = await readDataset(imported.format, source, {
    ...imported.read,
    task,
    ...(imported.mapping !== undefined && { mapping: imported.mapping }),
  });
  const hash = createHash('sha256').update(JSON.stringify(read.examples)).digest('hex').slice(0, 16);
  return taskDataOf(path.basename(source), `${imported.format}:${hash}`, task, read);
}

/** A file read by an importer as a task's data: its examples and the labels they use. */
function taskDataOf(name: string, version: string, type: TaskType, read: ReadDataset): TaskData {
  return { name, version, task: { type, labels: read.labelSet }, examples: read.examples };
}

/** Why a dataset's examples leave the store: the permission it takes, the audit action, the words for a refusal. */
export interface DataUse {
  readonly permission: Permission;
  readonly action: string;
  readonly purpose: string;
}
const TRAINING_READ: DataUse = {
  permission: 'notes.read',
  action: 'datasets.train-read',
  purpose: 'train on a dataset',
};

/** A store dataset's examples as plain values, the read audited for its use. */
export function readStoreData(access: StoreAccess, name: string, use: DataUse): TaskData {
  const { store, session } = access;
  session.require(use.permission, use.purpose);
  const dataset = store.datasets.get(name);
  const examples = store.datasets.examples(dataset.id).map(plainExample);
  session.record(use.permission, use.action, {
    objectType: 'dataset',
    objectIds: [dataset.id],
    details: { examples: examples.length },
  });
  return {
    name: dataset.name,
    // a dataset labelled in the app changes in place: its revision counts the changes
    version: `${dataset.id}:${dataset.createdAt}:${dataset.counts.total}${typeof dataset.meta['revision'] === 'number' ? `:r${dataset.meta['revision']}` : ''}`,
    task: taskConfigOf(dataset),
    examples,
  };
}

/** A public dataset of the catalogue, read from the shared data folder as `clinprompt import` would. */
export async function readCatalogueData(name: string, sharedDataDir: string): Promise<TaskData> {
  const entry = SOURCE_TASKS.find((t) => t.name === name);
  if (!entry) throw new UserError('NOT_FOUND', `"${name}" is not in the catalogue of public datasets.`);
  const source = path.join(sharedDataDir, entry.path);
  if (!existsSync(source))
    throw new UserError(
      'NOT_FOUND',
      `The public dataset "${name}" is not at ${source}. Point the shared data folder at a copy of the public data.`,
      { field: 'sharedData' },
    );
  const read = await readDataset(entry.format, source, {
    task: entry.task,
    ...(entry.mapping !== undefined && { mapping: entry.mapping }),
    ...(entry.drawSplits && { drawSplits: true }),
  });
  const stat = statSync(source);
  return taskDataOf(name, `catalogue:${name}:${stat.size}:${stat.mtimeMs}`, entry.task, read);
}

export function splitOf(data: TaskData, split: Split): Example[] {
  return data.examples.filter((e) => e.split === split && e.target !== null);
}

/**
 * The paper's few-shot protocol: the train split replaced by a seeded draw of k examples (per
 * label for closed-label tasks); draw i is the same for every method. k = 0 keeps no training
 * example (the zero-shot baseline is `eval` without an adapter).
 */
export function fewShot(data: TaskData, k: number, draw: number): TaskData {
  const train = splitOf(data, 'train');
  const chosen = sampleKShot(train, { k, seed: draw, perLabel: kShotPerLabel(data.task.type) });
  return {
    ...data,
    version: `${data.version}#k${k}d${draw}`,
    examples: [...chosen, ...data.examples.filter((e) => e.split !== 'train')],
  };
}

/** Framed prompt + target texts for training. */
export function framedTexts(task: TaskConfig, examples: readonly Example[]): TrainingText[] {
  return examples.map((e) => frameExample(task, e.input, e.target as TaskTarget));
}

// ---------------------------------------------------------------------------------------------
// evaluation
// ---------------------------------------------------------------------------------------------

export interface Prediction {
  readonly id: string;
  readonly output: string;
}

export interface EvaluationRun {
  readonly evaluation: Evaluation;
  readonly metric: string;
  readonly value: number;
  readonly predictions: readonly Prediction[];
}

export interface EvaluateOptions {
  readonly provider?: ProviderChoice;
  readonly threads?: number;
  /** New tokens per generated answer (free-text tasks). */
  readonly maxTokens?: number;
  readonly seed?: number;
  /** Stops between examples (CancelledError). */
  readonly signal?: AbortSignal;
}

/**
 * Runs a backbone (with an adapter or none: the zero-shot baseline) over examples as the task
 * asks: closed labels by scoring each label's log-likelihood, free answers by greedy generation
 * parsed with the task's parser; then the task's metrics with bootstrap intervals.
 */
export async function evaluateExamples(
  backbone: Backbone,
  adapter: PeftAdapter | undefined,
  task: TaskConfig,
  examples: readonly Example[],
  options: EvaluateOptions = {},
): Promise<EvaluationRun> {
  if (examples.length === 0) throw new UserError('NOT_FOUND', 'There are no labelled examples to evaluate on.');
  const predictions = await predictExamples(backbone, adapter, task, examples, options);
  const items = examples.map((e, i) => ({
    input: e.input,
    target: e.target as TaskTarget,
    output: predictions[i]!.output,
  }));
  const evaluation = evaluate(task, items, { seed: options.seed ?? 13 });
  const metric = headlineMetric(evaluation);
  return { evaluation, metric, value: evaluation.metrics[metric]!.estimate, predictions };
}

export interface PredictOptions extends EvaluateOptions {
  /** After each example: how many are done, of how many. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * The one inference path over examples, labelled or not (evaluation, the wizard's Run step):
 * closed labels by scoring each label's log-likelihood, free answers by greedy generation. The
 * outputs are raw text; the task's parser reads them back.
 */
export async function predictExamples(
  backbone: Backbone,
  adapter: PeftAdapter | undefined,
  task: TaskConfig,
  examples: readonly Example[],
  options: PredictOptions = {},
): Promise<Prediction[]> {
  const definition = taskDefinition(task.type);
  const runner = await BackboneRunner.create(backbone, {
    ...(options.provider && { provider: options.provider }),
    ...(options.threads !== undefined && { threads: options.threads }),
    ...(adapter?.graph && { adapter: adapter.graph }),
    batch: Math.max(1, ...examples.map((e) => definition.closedLabels(e.input, task.labels)?.length ?? 1)),
  });
  const scorer = sequenceScorer(runner, { prompt: adapter?.prompt });
  const predictions: Prediction[] = [];
  try {
    for (const [i, e] of examples.entries()) {
      if (options.signal?.aborted) throw new CancelledError();
      const closed = definition.closedLabels(e.input, task.labels);
      const output =
        closed && closed.length > 0
          ? (await predictClosedLabel(scorer, task, e.input)).label
          : (
              await generate(runner, framePrompt(task, e.input), {
                prompt: adapter?.prompt,
                maxTokens: options.maxTokens ?? 128,
                cutToFit: true,
              })
            ).text;
      predictions.push({ id: e.externalId ?? String(i + 1), output });
      options.onProgress?.(i + 1, examples.length);
    }
  } finally {
    await runner.release();
  }
  return predictions;
}

// ---------------------------------------------------------------------------------------------
// training
// ---------------------------------------------------------------------------------------------

export interface TrainRequest {
  readonly backbone: Backbone;
  readonly backboneName: string;
  readonly method: MethodInstance;
  readonly config: TrainConfig;
  /** The task to learn; several for MPT distillation (the first one's dev split is evaluated when alone). */
  readonly data: TaskData | readonly TaskData[];
  readonly outDir: string;
  readonly provider?: ProviderChoice;
  /** Dev examples scored during training (default: at most 200 of the dev split). */
  readonly devLimit?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: TrainProgress) => void;
  /** Where to record the run when the data came from the store. */
  readonly store?: StoreAccess;
}

export interface TrainSummary extends RunRecord {
  readonly outDir: string;
}

export async function trainRun(r: TrainRequest): Promise<TrainSummary> {
  const all: readonly TaskData[] = Array.isArray(r.data) ? r.data : [r.data as TaskData];
  const data = all[0]!;
  const trainSets = all.map((d) => {
    const set = splitOf(d, 'train');
    if (set.length === 0) throw new UserError('NOT_FOUND', `"${d.name}" has no labelled train examples to learn from.`);
    return set;
  });
  const dev = all.length === 1 ? splitOf(data, 'dev').slice(0, r.devLimit ?? 200) : [];
  mkdirSync(r.outDir, { recursive: true });
  const runId = r.store
    ? startRunRecord(
        r.store,
        r.method,
        r.config,
        r.outDir,
        all.map((d) => d.name),
        r.backbone.sourceDir,
      )
    : undefined;
  let devMetric: string | undefined;
  try {
    const outcome = await train({
      backbone: r.backbone,
      method: r.method,
      config: r.config,
      tasks: all.map((d, k) => ({ name: d.name, texts: framedTexts(d.task, trainSets[k]!) })),
      runDir: r.outDir,
      dataKey: all.map((d) => `${d.name}@${d.version}`).join('+'),
      ...(r.provider && { provider: r.provider }),
      ...(r.signal && { signal: r.signal }),
      ...(r.onProgress && { onProgress: r.onProgress }),
      ...(dev.length > 0 && {
        evaluate: async (adapter: PeftAdapter) => {
          const run = await evaluateExamples(r.backbone, adapter, data.task, dev, {
            ...(r.provider && { provider: r.provider }),
            ...(r.config.threads !== undefined && { threads: r.config.threads }),
          });
          devMetric = run.metric;
          return run.value;
        },
      }),
    });
    const record: RunRecord = {
      method: r.method.method,
      settings: r.method.settings,
      train: r.config,
      trainableParameters: outcome.trainableParameters,
      trainableShare: outcome.trainableParameters / r.backbone.parameters,
      backbone: {
        name: r.backboneName,
        fingerprint: r.backbone.fingerprint(),
        parameters: r.backbone.parameters,
      },
      data: {
        name: all.map((d) => d.name).join('+'),
        version: all.map((d) => d.version).join('+'),
        task: all.length === 1 ? data.task : all.map((d) => d.task),
        train: trainSets.reduce((n, s) => n + s.length, 0),
        dev: dev.length,
      },
      ...(all.length > 1 && {
        tasks: all.map((d, k) => ({
          name: d.name,
          train: trainSets[k]!.length,
          parts: summarizeParts(outcome.taskParts[d.name] ?? []),
        })),
      }),
      seed: r.config.seed,
      provider: outcome.provider,
      steps: outcome.steps,
      totalSteps: outcome.totalSteps,
      resumedFromStep: outcome.resumedFromStep,
      stoppedEarly: outcome.stoppedEarly,
      truncatedExamples: outcome.truncatedExamples,
      tokensSeen: outcome.tokensSeen,
      wallSeconds: outcome.seconds,
      firstLoss: outcome.losses[0] ?? null,
      lastLoss: outcome.losses.at(-1) ?? null,
      losses: outcome.losses,
      evaluations: outcome.evaluations,
      metrics: outcome.best && devMetric ? { dev: { [devMetric]: outcome.best.value } } : {},
      bestStep: outcome.best?.step ?? null,
    };
    writeRunFolder(r.outDir, r.method, outcome.values, record);
    if (r.store && runId !== undefined) recordRun(r.store, runId, record, r.outDir);
    log.info('train-finished', {
      method: r.method.method,
      steps: outcome.steps,
      seconds: Math.round(outcome.seconds),
    });
    return { ...record, outDir: r.outDir };
  } catch (error) {
    if (r.store && runId !== undefined) finishRunRecord(r.store, runId, error);
    throw error;
  }
}

/** Opens the store's record of a training run (running until recorded or finished). */
export function startRunRecord(
  access: StoreAccess,
  method: Pick<MethodInstance, 'method' | 'settings'>,
  config: TrainConfig,
  outDir: string,
  datasets: readonly string[],
  /** The backbone folder, so that the run can be used again after a restart (services/finished-runs.ts). */
  backbone?: string,
  /** The task set-up trained on (labels, template), so that an interrupted run resumes with it (services/interrupted-runs.ts). */
  task?: TaskConfig,
): number {
  const { store, session } = access;
  session.require('models.train', 'train a prompt');
  return store.runs.start(
    `train:${method.method}`,
    {
      method: method.method,
      settings: method.settings,
      train: config,
      outDir,
      ...(backbone && { backbone }),
      ...(task && { task }),
    },
    datasets.map((name) => store.datasets.get(name).id),
    session.user.username,
  ).id;
}

/** Closes a run's record that did not finish: cancelled (its checkpoint kept) or failed. */
export function finishRunRecord(access: StoreAccess, runId: number, error: unknown): void {
  access.store.runs.finish(runId, (error as { code?: string }).code === 'CANCELLED' ? 'cancelled' : 'failed');
}

/** A task's loss terms over the run: the means of its first and of its last steps (up to five, never overlapping). */
function summarizeParts(records: readonly TaskPartRecord[]): {
  first: Record<string, number>;
  last: Record<string, number>;
} {
  const window = Math.max(1, Math.min(5, Math.floor(records.length / 2)));
  const mean = (rs: readonly TaskPartRecord[]) => {
    const out: Record<string, number> = {};
    for (const rec of rs) for (const [k, v] of Object.entries(rec.parts)) out[k] = (out[k] ?? 0) + v / rs.length;
    return out;
  };
  return { first: mean(records.slice(0, window)), last: mean(records.slice(-window)) };
}

/** Stores the run's record, loss curve, metrics and trained tensors (encrypted like every blob). */
export function recordRun(access: StoreAccess, runId: number, record: RunRecord, outDir: string): void {
  const { store } = access;
  record.losses.forEach((loss, i) => store.runs.recordMetrics(runId, i + 1, { loss }));
  for (const e of record.evaluations) store.runs.recordMetrics(runId, e.step, { dev: e.value });
  store.runs.attachArtifact(runId, RUN_FILE, store.blobs.put('run-record', Buffer.from(JSON.stringify(record))).id);
  const weights = path.join(outDir, ADAPTER_WEIGHTS);
  if (existsSync(weights))
    store.runs.attachArtifact(runId, ADAPTER_WEIGHTS, store.blobs.put('adapter', readFileSync(weights)).id);
  store.runs.finish(runId, 'succeeded');
}

/** Writes predictions (JSONL) and the evaluation beside them. */
export function writeEvaluation(
  dir: string,
  split: Split,
  run: EvaluationRun,
): { predictions: string; metrics: string } {
  mkdirSync(dir, { recursive: true });
  const predictions = path.join(dir, `predictions-${split}.jsonl`);
  writeFileSync(predictions, run.predictions.map((p) => JSON.stringify(p)).join('\n') + '\n', { mode: 0o600 });
  const metrics = path.join(dir, `eval-${split}.json`);
  writeFileSync(metrics, JSON.stringify({ split, metric: run.metric, value: run.value, ...run.evaluation }, null, 2));
  return { predictions, metrics };
}

export interface RunSummary {
  readonly id: number;
  readonly kind: string;
  readonly status: string;
  readonly startedAt: string;
  readonly startedBy: string;
  readonly steps: number;
  readonly lastLoss: number | null;
  readonly dev: number | null;
  readonly artifacts: readonly string[];
}

/** The runs recorded in the store, newest first, with their loss curve's end and dev metric. */
export function listRuns(store: Store, session: StoreSession): RunSummary[] {
  session.require('runs.read', 'list training runs');
  return store.runs.list().map((run) => {
    const losses = store.runs.metrics(run.id, 'loss');
    const dev = store.runs.metrics(run.id, 'dev');
    return {
      id: run.id,
      kind: run.kind,
      status: run.status,
      startedAt: run.startedAt,
      startedBy: run.startedBy,
      steps: losses.length,
      lastLoss: losses.at(-1)?.value ?? null,
      dev: dev.at(-1)?.value ?? null,
      artifacts: store.runs.artifacts(run.id).map((a) => a.name),
    };
  });
}
