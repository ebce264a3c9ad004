/**
 * The wizard's Backbone and Adapt requests: describe a backbone in plain words, offer the
 * adaptation methods and the trainer's settings, train a prompt on a store dataset in a worker and
 * score it beside the untrained backbone. The host reads the dataset from the store (audited) and
 * hands its examples to the worker in memory: workers hold no store key, and no note text is
 * written to a temporary file. The run folder holds only tensors and the run record; the run is
 * recorded in the store when its job finishes.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';

import { z } from 'zod';

import { backboneOrDefault, EMBEDDED_BACKBONE_NAME, SHIPPED_META_PROMPT } from '../backbone/embedded.js';
import { formatBytes } from '../backbone/memory-plan.js';
import { UserError } from '../common/errors.js';
import { log } from '../common/log.js';
import {
  ADAPT_METHODS,
  type AdaptMethod,
  type AdaptOptionsView,
  type BackboneView,
  type EvaluationView,
  type RequestHandlers,
  type SettingView,
} from '../ipc/contract.js';
import type { JobManager } from '../jobs/job-manager.js';
import { virtualTokensOf } from '../peft/adapter-folder.js';
import { TrainConfigSchema, type TrainConfig } from '../peft/config.js';
import { METHODS } from '../peft/methods.js';
import { addRunMetrics, readRunRecord } from '../peft/run-folder.js';
import type { Permission } from '../store/permissions.js';
import { templateFor } from '../tasks/registry.js';
import { backboneInfo } from './backbone.js';
import { packAsMetaPrompt } from './packs.js';
import { listFinishedRuns } from './finished-runs.js';
import { listInterruptedRuns } from './interrupted-runs.js';
import { fewShotCurveSpec, lossCurveSpec, renderChartSvg } from './charts.js';
import type { StoreService } from './store-service.js';
import {
  finishRunRecord,
  readTaskData,
  recordRun,
  splitOf,
  startRunRecord,
  type StoreAccess,
  type TaskData,
  type TrainSummary,
} from './training.js';

/** The trainer's settings in the wizard's words; those not listed stay at their defaults. */
const SETTING_LABELS: Readonly<Partial<Record<keyof TrainConfig, string>>> = {
  epochs: 'Epochs',
  steps: 'Training steps',
  lr: 'Learning rate',
  batchSize: 'Examples per batch',
  maxLength: 'Tokens per example',
  gradAccumulation: 'Gradient accumulation',
  warmupSteps: 'Warm-up steps',
  schedule: 'Learning-rate schedule',
  weightDecay: 'Weight decay',
  maxGradNorm: 'Gradient clipping norm',
  groupByLength: 'Group examples by length',
  evalEvery: 'Evaluate every N steps',
  patience: 'Early-stopping patience',
  checkpointEvery: 'Checkpoint every N steps',
  seed: 'Random seed',
  threads: 'CPU threads',
};
const BASIC_SETTINGS: readonly string[] = ['epochs', 'steps', 'lr'];

type AdaptRequests =
  | 'backbone.describe'
  | 'adapt.options'
  | 'adapt.start'
  | 'adapt.interrupted'
  | 'adapt.resume'
  | 'runs.list'
  | 'adapt.evaluate'
  | 'charts.loss'
  | 'charts.fewShot';

export function adaptHandlers(
  store: StoreService,
  jobs: JobManager,
  dataDir: string,
): Pick<RequestHandlers, AdaptRequests> {
  /** Train jobs whose run the store records when they finish. */
  const pending = new Map<string, { runId: number; outDir: string }>();
  /** Evaluate jobs whose metrics go into their run folder's record, as `clinprompt eval` writes them. */
  const evaluating = new Map<string, string>();
  jobs.subscribe({
    onDidFinish: (state) => {
      const evaluated = evaluating.get(state.jobId);
      evaluating.delete(state.jobId);
      if (evaluated !== undefined && state.status === 'succeeded') {
        const view = state.result as EvaluationView;
        addRunMetrics(evaluated, { [view.split]: Object.fromEntries(view.adapted.map((m) => [m.name, m.estimate])) });
      }
      const run = pending.get(state.jobId);
      if (!run) return;
      pending.delete(state.jobId);
      unrecorded.push((access) =>
        state.status === 'succeeded'
          ? recordRun(access, run.runId, state.result as TrainSummary, run.outDir)
          : finishRunRecord(access, run.runId, state.error),
      );
      void flush();
    },
  });

  /**
   * Records of finished runs not yet in the store: training often outlasts the auto-lock, so a
   * record waits for the next unlocked request instead of being lost.
   */
  const unrecorded: ((access: StoreAccess) => void)[] = [];
  async function flush(): Promise<void> {
    while (unrecorded.length > 0) {
      try {
        await store.use((s, session) => unrecorded[0]!({ store: s, session }));
      } catch (error) {
        if ((error as { code?: string }).code === 'LOCKED') return;
        log.warn('run not recorded', { error }); // codes and ids only: no note text reaches a record's error
      }
      unrecorded.shift();
    }
  }

  /** Runs whose job trains in this process now: not interrupted, whatever their record says. */
  const live = (): Set<number> => new Set([...pending.values()].map((r) => r.runId));

  /** A stopped run of the same folder goes on under its own record, so one run keeps one record. */
  function reopenStopped(access: StoreAccess, outDir: string): number | undefined {
    const newest = access.store.runs.list().find((r) => r.config['outDir'] === outDir);
    if (!newest || newest.status === 'succeeded') return undefined;
    if (live().has(newest.id))
      throw new UserError('ALREADY_EXISTS', 'This run is training now: wait for it, or cancel it first.', {
        field: 'dataset',
      });
    return access.store.runs.reopen(newest.id).id;
  }

  /** Starts the `train` job of a recorded run; its record is completed when the job finishes. */
  function launch(r: {
    runId: number;
    outDir: string;
    backbone: string;
    data: TaskData;
    method: string;
    settings: Record<string, unknown>;
    train: Record<string, unknown>;
  }) {
    const state = jobs.start(
      {
        kind: 'train',
        backbone: r.backbone,
        data: r.data.name,
        task: r.data.task.type,
        out: r.outDir,
        method: r.method,
        settings: r.settings,
        train: r.train,
      },
      { data: r.data },
    );
    pending.set(state.jobId, { runId: r.runId, outDir: r.outDir });
    return state;
  }

  // checked before any note text is read for the job
  const allowed = (permission: Permission, action: string): Promise<void> =>
    store.use((_s, session) => session.require(permission, action));
  const readDataset = (name: string): Promise<TaskData> =>
    store.use((s, session) => readTaskData(name, { store: async () => ({ store: s, session }) }));

  /** MPT from an imported multitask pack (the Task step's starting point) instead of the shipped meta-prompt. */
  async function packStart(
    method: AdaptMethod,
    pack: { name: string; version: number },
  ): Promise<{ settings: Record<string, unknown>; virtualTokens: number }> {
    if (method !== 'mpt')
      throw new UserError(
        'INVALID_ARGUMENT',
        'An imported pack is a starting point for multitask prompt tuning only.',
        {
          field: 'startPack',
        },
      );
    const meta = await store.use((s, session) => packAsMetaPrompt(s, session, { ...pack, dataDir }));
    return { settings: { meta }, virtualTokens: virtualTokensOf(meta) };
  }

  return {
    'backbone.describe': async ({ backbone }) => describe(backbone),
    'adapt.options': async ({ backbone }) => {
      await flush();
      return options(describe(backbone));
    },
    'adapt.start': async ({ backbone, dataset, method, train: requested, task, startPack }) => {
      await flush();
      await allowed('models.train', 'train a prompt');
      const view = describe(backbone);
      if (!view.fits)
        throw new UserError(
          'OUT_OF_MEMORY',
          `Adapting a prompt on ${view.name} needs about ${formatBytes(view.trainingBytes)}, but only ${formatBytes(view.availableBytes)} is free. Close other programs or choose a smaller backbone.`,
          { field: 'backbone' },
        );
      const { settings, virtualTokens } =
        startPack === undefined ? methodSettings(method, view) : await packStart(method, startPack);
      // the prompt's virtual tokens and the example share the backbone's context
      const train = {
        ...requested,
        maxLength: Math.min(trainConfig(requested).maxLength, view.contextTokens - virtualTokens),
      };
      const config = trainConfig(train);
      const data = withTaskSetup(await readDataset(dataset), task);
      if (splitOf(data, 'train').length === 0)
        throw new UserError('NOT_FOUND', `"${data.name}" has no labelled train examples to learn from.`, {
          field: 'dataset',
        });
      const key = JSON.stringify([view.folder, data.name, data.version, method, config, data.task, settings]);
      const outDir = path.join(
        dataDir,
        'runs',
        `${method}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`,
      );
      const runId = await store.use((s, session) => {
        const access = { store: s, session };
        return (
          reopenStopped(access, outDir) ??
          startRunRecord(access, { method, settings }, config, outDir, [data.name], view.folder, data.task)
        );
      });
      return launch({ runId, outDir, backbone: view.folder, data, method, settings, train });
    },
    'adapt.interrupted': async () => {
      await flush(); // a run recorded as cancelled while the store was locked is not left as running
      return store.use((s, session) => listInterruptedRuns(s, session, live()).map((r) => r.view));
    },
    'adapt.resume': async ({ runId }) => {
      await flush();
      await allowed('models.train', 'train a prompt');
      const stopped = await store.use((s, session) =>
        listInterruptedRuns(s, session, live()).find((r) => r.view.runId === runId),
      );
      if (!stopped)
        throw new UserError(
          'NOT_FOUND',
          `Run ${runId} has nothing to resume: it finished, it is training now, or its checkpoint is gone.`,
          { field: 'runId' },
        );
      const { run, view } = stopped;
      const recorded = run.config as { settings?: Record<string, unknown>; train?: Record<string, unknown> };
      const task = run.config['task'] as { labels: string[]; template?: string };
      describe(view.backbone); // a backbone folder removed since is refused here, not in the worker
      const data = withTaskSetup(await readDataset(view.dataset), task);
      await store.use((s) => s.runs.reopen(run.id));
      return launch({
        runId: run.id,
        outDir: String(run.config['outDir']),
        backbone: view.backbone,
        data,
        method: view.method,
        settings: recorded.settings ?? {},
        train: recorded.train ?? {},
      });
    },
    'runs.list': async () => {
      await flush(); // a run that finished while the store was locked is listed too
      return store.use(listFinishedRuns);
    },
    'adapt.evaluate': async ({ backbone, dataset, run, baselines = [] }) => {
      await flush();
      await allowed('prompts.run', 'run an adapted prompt over a dataset');
      const data = await readDataset(dataset);
      for (const other of baselines) checkBaselineRun(other, data.task.type);
      const split = splitOf(data, 'test').length > 0 ? 'test' : 'dev';
      if (splitOf(data, split).length === 0)
        throw new UserError('NOT_FOUND', `"${data.name}" has no labelled dev or test examples to evaluate on.`, {
          field: 'dataset',
        });
      const state = jobs.start(
        {
          kind: 'evaluate',
          backbone: backboneOrDefault(backbone),
          data: data.name,
          task: data.task.type,
          run,
          baselines: baselines.filter((b) => b !== run),
          split,
        },
        { data },
      );
      evaluating.set(state.jobId, run);
      return state;
    },
    'charts.loss': async ({ losses, totalSteps }) => ({ svg: await renderChartSvg(lossCurveSpec(losses, totalSteps)) }),
    'charts.fewShot': async ({ metric, points }) => ({ svg: await renderChartSvg(fewShotCurveSpec(points, metric)) }),
  };
}

/** A run to compare must be a finished run of the same task type; refused before the job starts. */
function checkBaselineRun(dir: string, task: string): void {
  const record = existsSync(dir) ? readRunRecord(dir) : undefined;
  if (!record)
    throw new UserError('NOT_FOUND', `The run to compare, ${path.basename(dir)}, has no finished run record.`, {
      field: 'baselines',
    });
  const type = (record.data.task as { type?: unknown } | undefined)?.type;
  if (type !== task)
    throw new UserError(
      'INVALID_ARGUMENT',
      `The run to compare, ${path.basename(dir)}, was trained for ${String(type)}, not ${task}: choose a run of the same task.`,
      { field: 'baselines' },
    );
}

/**
 * The Task step's label set and template in place of the dataset's own: the template is checked,
 * and the label set must keep every label the examples carry.
 */
function withTaskSetup(
  data: TaskData,
  setup: { labels: string[]; template?: string | undefined } | undefined,
): TaskData {
  if (setup === undefined) return data;
  const labels = setup.labels.length > 0 ? setup.labels : data.task.labels;
  const used = new Set(data.examples.flatMap((e) => (e.target === null ? [] : e.labels)));
  const missing = [...used].filter((l) => !labels.includes(l));
  if (missing.length > 0)
    throw new UserError(
      'INVALID_ARGUMENT',
      `"${data.name}" has examples labelled ${missing.join(', ')}: add them to the label set in the Task step.`,
      { field: 'labels' },
    );
  const task = { type: data.task.type, labels, ...(setup.template !== undefined && { template: setup.template }) };
  templateFor(task); // a broken template is refused before a worker starts
  return { ...data, task };
}

/** Where it runs, in words a clinician reads. The wizard trains on the CPU. */
const CPU_WORDS = "this computer's processor (CPU)";

function describe(folder: string | undefined): BackboneView {
  const dir = backboneOrDefault(folder);
  const info = backboneInfo({ backbone: dir, provider: 'cpu' });
  const meta = path.join(dir, SHIPPED_META_PROMPT);
  return {
    folder: info.folder,
    name: folder === undefined ? EMBEDDED_BACKBONE_NAME : path.basename(info.folder),
    embedded: folder === undefined,
    architecture: info.architecture,
    parameters: info.parameters,
    provider: CPU_WORDS,
    contextTokens: info.memory.contextTokens,
    inferenceBytes: info.memory.plan.totalBytes,
    trainingBytes: info.memory.training.totalBytes,
    availableBytes: info.availableBytes,
    fits: info.memory.training.totalBytes <= info.availableBytes,
    metaPrompt: existsSync(meta) ? meta : null,
  };
}

/**
 * The method's settings for a wizard run: MPT from the shipped meta-prompt; prompt tuning with as
 * many virtual tokens as that meta-prompt (a fair comparison), else PEFT's usual 100, at most a
 * quarter of the context of a small backbone.
 */
function methodSettings(
  method: string,
  view: BackboneView,
): { settings: Record<string, unknown>; virtualTokens: number } {
  if (method === 'mpt') {
    const meta = metaPromptOrRefuse(view);
    return { settings: { meta }, virtualTokens: virtualTokensOf(meta) };
  }
  if (method === 'pt') {
    const promptLength =
      view.metaPrompt !== null ? virtualTokensOf(view.metaPrompt) : Math.min(100, Math.floor(view.contextTokens / 4));
    return { settings: { promptLength }, virtualTokens: promptLength };
  }
  return { settings: {}, virtualTokens: 0 };
}

function metaPromptOrRefuse(view: BackboneView): string {
  if (view.metaPrompt === null)
    throw new UserError(
      'NOT_FOUND',
      `The backbone ${view.name} has no shipped meta-prompt, so multitask prompt tuning cannot start from one. Choose prompt tuning or LoRA.`,
      { field: 'method' },
    );
  return view.metaPrompt;
}

function options(view: BackboneView): AdaptOptionsView {
  const methods = ADAPT_METHODS.map((method) => ({
    method,
    title: METHODS[method].title,
    summary: METHODS[method].summary,
    unavailable: method === 'mpt' && view.metaPrompt === null ? `${view.name} has no shipped meta-prompt` : null,
  }));
  const defaultMethod: AdaptMethod = view.metaPrompt === null ? 'pt' : 'mpt';
  return { methods, defaultMethod, settings: settingViews() };
}

interface JsonSchemaField {
  readonly type?: string;
  readonly enum?: readonly string[];
  readonly default?: number | boolean | string;
  readonly description?: string;
}

/** The trainer's settings with their defaults and help text, from the one schema (peft/config.ts). */
export function settingViews(): SettingView[] {
  const properties = (
    z.toJSONSchema(TrainConfigSchema, { io: 'input' }) as { properties: Record<string, JsonSchemaField> }
  ).properties;
  return Object.entries(SETTING_LABELS).map(([key, label]) => {
    const p = properties[key]!;
    const kind = p.enum ? 'choice' : p.type === 'integer' ? 'integer' : p.type === 'boolean' ? 'boolean' : 'number';
    return {
      key,
      label,
      help: helpText(p.description ?? ''),
      kind,
      ...(p.enum && { choices: p.enum }),
      ...(p.default !== undefined && { default: p.default }),
      basic: BASIC_SETTINGS.includes(key),
    };
  });
}

/** The schema's help names CLI flags (`--epochs`); the wizard names its own fields. */
function helpText(description: string): string {
  return description.replace(/--([a-z-]+)/g, (flag, name: string) => {
    const key = name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof TrainConfig;
    const label = SETTING_LABELS[key];
    return label ? `"${label}"` : flag;
  });
}

/** The trainer's settings, refused with the field's label when one is out of range. */
function trainConfig(train: Record<string, unknown>): TrainConfig {
  const parsed = TrainConfigSchema.safeParse(train);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const key = String(issue.path[0] ?? '');
  const label = SETTING_LABELS[key as keyof TrainConfig] ?? key;
  throw new UserError('INVALID_ARGUMENT', `${label}: ${issue.message}.`);
}
