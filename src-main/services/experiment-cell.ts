/**
 * One cell of an experiment (services/experiment.ts) run to its end from files: the experiment
 * folder's experiment.json says what the cell is, its inputs are the folders of the cells it needs,
 * its output is its own folder. This is what the `experiment-cell` job runs, one cell per worker,
 * whether `clinprompt experiment` started it or a cluster scheduler ran `--cell` by hand. A cell
 * stopped mid-training resumes from its trainer checkpoint; a finished one is left as it is.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { CancelledError, UserError } from '../common/errors.js';
import type { ProviderChoice } from '../engine/index.js';
import { openBackbone } from '../backbone/load.js';
import { TrainConfigSchema } from '../peft/config.js';
import { removeCheckpoint } from '../peft/checkpoint.js';
import { createMethod } from '../peft/methods.js';
import { openAdapter } from '../peft/run-folder.js';
import type { TrainProgress } from '../peft/trainer.js';
import type { CellResult } from './experiment-results.js';
import {
  CELL_RESULT,
  DISTILL_ID,
  EXPERIMENT_FILE,
  filledIn,
  importedSource,
  isCellFinished,
  planExperiment,
  type NamedTask,
  type ResolvedExperiment,
} from './experiment.js';
import {
  evaluateExamples,
  fewShot,
  readCatalogueData,
  readTaskData,
  splitOf,
  trainRun,
  writeEvaluation,
  type TaskData,
} from './training.js';

export interface CellRequest {
  /** The experiment folder (holding experiment.json). */
  readonly outDir: string;
  readonly cellId: string;
  readonly threads?: number;
  readonly provider?: ProviderChoice;
  readonly modelCache?: string;
  /** Store datasets by task name, read by the host (workers hold no store key). */
  readonly tasks?: Readonly<Record<string, TaskData>>;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: TrainProgress) => void;
}

/** The config an experiment folder was last run with. */
export function readExperimentFolder(outDir: string): ResolvedExperiment {
  const file = path.join(outDir, EXPERIMENT_FILE);
  if (!existsSync(file))
    throw new UserError(
      'NOT_FOUND',
      `${outDir} holds no ${EXPERIMENT_FILE}; run clinprompt experiment <config> --out ${outDir} to start it.`,
      { field: 'out' },
    );
  return JSON.parse(readFileSync(file, 'utf8')) as ResolvedExperiment;
}

/** Runs one cell once the cells it needs have finished; a finished cell is left untouched. */
export async function runExperimentCell(r: CellRequest): Promise<void> {
  const config = readExperimentFolder(r.outDir);
  const cells = planExperiment(config, r.outDir);
  const cell = cells.find((c) => c.id === r.cellId);
  if (!cell)
    throw new UserError('NOT_FOUND', `The experiment in ${r.outDir} has no cell "${r.cellId}" (see --list).`, {
      field: 'cell',
    });
  if (isCellFinished(cell)) return;
  const missing = cell.needs.filter((id) => !isCellFinished(cells.find((c) => c.id === id)!));
  if (missing.length > 0)
    throw new UserError(
      'INVALID_ARGUMENT',
      `Cell ${cell.id} needs ${missing.join(', ')}, not finished yet; run those cells first.`,
      { field: 'cell' },
    );
  if (r.signal?.aborted) throw new CancelledError();

  const backbone = openBackbone(config.backbone, { ...(r.modelCache && { cacheDir: r.modelCache }) });
  const backboneName = path.basename(config.backbone);
  const ctx = { backbone, backboneName };
  const common = {
    backbone,
    backboneName,
    devLimit: config.devLimit,
    ...(r.provider && { provider: r.provider }),
    ...(r.signal && { signal: r.signal }),
    ...(r.onProgress && { onProgress: r.onProgress }),
  };
  const evaluation = {
    ...(r.threads !== undefined && { threads: r.threads }),
    ...(r.provider && { provider: r.provider }),
    ...(r.signal && { signal: r.signal }),
  };
  const trainSettings = (train: Record<string, unknown> | undefined) =>
    TrainConfigSchema.parse({ ...(r.threads !== undefined && { threads: r.threads }), ...train });
  const namer = (field: string) => (key: string) => `${field}.settings.${key}`;
  const readTask = (t: NamedTask): Promise<TaskData> => {
    const given = r.tasks?.[t.name];
    if (given) return Promise.resolve(given);
    return t.catalogue !== undefined
      ? readCatalogueData(t.catalogue, config.sharedData)
      : readTaskData(t.data!, { ...(t.task && { task: t.task }), imported: importedSource(t) });
  };
  const testOf = (t: NamedTask, data: TaskData) => {
    const test = splitOf(data, 'test').slice(0, config.testLimit);
    if (test.length === 0)
      throw new UserError('NOT_FOUND', `Target "${t.name}" has no labelled test examples to evaluate on.`);
    return test;
  };

  if (cell.kind === 'teacher') {
    await trainRun({
      ...common,
      method: createMethod('pt', config.teacher.settings ?? {}, ctx, namer('teacher')),
      config: trainSettings(config.teacher.train),
      data: await readTask(cell.source),
      outDir: cell.dir,
    });
  } else if (cell.kind === 'distill') {
    await trainRun({
      ...common,
      method: createMethod(
        'mpt-distill',
        { ...config.distill.settings, teachers: config.sources.map((s) => path.join(r.outDir, `teachers/${s.name}`)) },
        ctx,
        namer('distill'),
      ),
      config: trainSettings(config.distill.train),
      data: await Promise.all(config.sources.map(readTask)),
      outDir: cell.dir,
    });
  } else if (cell.kind === 'zero-shot') {
    const data = await readTask(cell.target);
    const run = await evaluateExamples(backbone, undefined, data.task, testOf(cell.target, data), evaluation);
    writeEvaluation(cell.dir, 'test', run);
    writeCellResult(cell.dir, {
      target: cell.target.name,
      taskType: data.task.type,
      method: 'zero-shot',
      k: '0',
      draw: 0,
      metric: run.metric,
      value: run.value,
      trainableParameters: 0,
      trainableShare: 0,
    });
  } else {
    const all = await readTask(cell.target);
    const budget = config.budgets[cell.method];
    const summary = await trainRun({
      ...common,
      method: createMethod(
        cell.method,
        { ...budget?.settings, ...filledIn(cell.method, config.metaPrompt ?? path.join(r.outDir, DISTILL_ID)) },
        ctx,
        namer(`budgets.${cell.method}`),
      ),
      config: trainSettings(budget?.train),
      data: cell.k === 'full' ? all : fewShot(all, cell.k, cell.draw),
      outDir: cell.dir,
    });
    const opened = openAdapter(cell.dir, backbone);
    const run = await evaluateExamples(opened.backbone, opened.adapter, all.task, testOf(cell.target, all), evaluation);
    writeEvaluation(cell.dir, 'test', run);
    writeCellResult(cell.dir, {
      target: cell.target.name,
      taskType: all.task.type,
      method: cell.method,
      k: String(cell.k),
      draw: cell.draw,
      metric: run.metric,
      value: run.value,
      trainableParameters: summary.trainableParameters,
      trainableShare: summary.trainableShare,
    });
  }
  // Finished for good: the resumable state only costs disk (a full fine-tuning one, a lot).
  removeCheckpoint(cell.dir);
}

function writeCellResult(dir: string, result: CellResult): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, CELL_RESULT), JSON.stringify(result, null, 2) + '\n');
}
