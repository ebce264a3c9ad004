/**
 * The paper's experiment as one resumable plan of cells: stage 1 trains a prompt-tuning teacher
 * per source task, stage 2 distils them into the meta-prompt, then every target x method x k x
 * draw is adapted (training.ts's trainRun on the seeded few-shot draw) and evaluated on the
 * target's test split; k = 0 is the untrained backbone's zero-shot evaluation, one per target.
 * Each cell is a folder under the output folder (layout in docs/experiment.md); a cell whose
 * result file exists is skipped, so an interrupted experiment completes without redoing finished
 * cells, and a cell interrupted mid-training resumes from its trainer checkpoint. Each cell runs
 * as an `experiment-cell` job in its own worker (experiment-cell.ts), up to `parallel` at once
 * once their inputs exist; this module plans, schedules and writes the results.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

import { canonicalJson } from '../common/canonical-json.js';
import { CancelledError, deserializeError, serializeError, UserError, type SerializedError } from '../common/errors.js';
import { IMPORT_FORMATS, TASK_TYPES, type ImportFormat } from '../common/vocabulary.js';
import type { ProviderChoice } from '../engine/index.js';
import { embeddedBackboneDir } from '../backbone/embedded.js';
import { openBackbone } from '../backbone/load.js';
import type { JobState } from '../ipc/contract.js';
import { JobManager } from '../jobs/job-manager.js';
import type { JobInputs } from '../jobs/protocol.js';
import type { CellJobResult } from '../jobs/runners/experiment-cell.js';
import { launchThreadWorker } from '../jobs/thread-transport.js';
import { TrainConfigSchema } from '../peft/config.js';
import { METHODS } from '../peft/methods.js';
import { readRunRecord, RUN_FILE } from '../peft/run-folder.js';
import { SOURCE_TASKS } from '../data/catalogue.js';
import { writeResults, type CellResult, type ResultFiles } from './experiment-results.js';
import { isDataFile, readTaskData, type ImportedSource, type StoreAccess, type TaskData } from './training.js';

export const EXPERIMENT_METHODS = ['pt', 'mpt', 'lora', 'full'] as const;
export type ExperimentMethod = (typeof EXPERIMENT_METHODS)[number];

/** Formats whose files hold labelled examples (a folder of notes has none to adapt or evaluate on). */
const LABELLED_FORMATS = IMPORT_FORMATS.filter((f) => f !== 'notes') as [ImportFormat, ...ImportFormat[]];

const ImportSettingsSchema = z
  .object({
    seed: z.number().int().nonnegative().optional().describe('seed for drawn splits (default 42)'),
    drawSplits: z.boolean().optional().describe('ignore train/dev/test in file and folder names and draw splits'),
    devFromTrain: z
      .number()
      .min(0)
      .max(0.9)
      .optional()
      .describe('when the source has no dev split, move this share of train to dev'),
    groupBy: z.string().min(1).optional().describe('jsonl/csv: rows with the same value here land in the same split'),
    sheet: z.string().min(1).optional().describe('spreadsheets: the sheet, by name or number'),
    records: z.string().min(1).optional().describe('json: the top-level key whose list holds the records'),
    include: z.array(z.string().min(1)).optional().describe('folders: only files matching these patterns'),
    exclude: z.array(z.string().min(1)).optional().describe('folders: leave out files matching these patterns'),
    encoding: z.string().min(1).optional().describe('the encoding of files without a byte-order mark (default utf-8)'),
  })
  .strict();

const TaskSourceSchema = z
  .object({
    data: z
      .string()
      .min(1)
      .optional()
      .describe('a dataset in the store, or an exported .jsonl/.csv file (relative to the config)'),
    catalogue: z
      .string()
      .min(1)
      .optional()
      .describe('instead of data: a public dataset of the catalogue (clinprompt data catalogue), read from sharedData'),
    task: z.enum(TASK_TYPES).optional().describe("a file's task: ner, re, qa, nli, summarization"),
    format: z
      .enum(LABELLED_FORMATS)
      .optional()
      .describe(`with data: read the file or folder as clinprompt import does, as ${LABELLED_FORMATS.join(', ')}`),
    mapping: z
      .union([z.string().min(1), z.record(z.string(), z.array(z.string().min(1)).min(1))])
      .optional()
      .describe(
        'with format jsonl or csv: which column fills which field, as import --mapping ("premise=Statement,label=Verdict", preset:<id>)',
      ),
    read: ImportSettingsSchema.optional().describe(
      'with format: the import settings, as the flags of clinprompt import',
    ),
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only')
      .optional()
      .describe("the task's folder and table name (default: the dataset name or file name without extension)"),
  })
  .strict()
  .refine((t) => (t.data === undefined) !== (t.catalogue === undefined), {
    message: 'give either data or catalogue',
  })
  .refine((t) => t.format !== undefined || (t.mapping === undefined && t.read === undefined), {
    message: 'mapping and read go with a format (the file is read as clinprompt import reads it)',
  });

const BudgetSchema = z
  .object({
    settings: z.record(z.string(), z.unknown()).optional().describe("the method's settings (e.g. promptLength, rank)"),
    train: z.record(z.string(), z.unknown()).optional().describe("the trainer's settings (steps, lr, batchSize, ...)"),
  })
  .strict();

const KSchema = z.union([z.number().int().nonnegative(), z.literal('full')]);

export const ExperimentConfigSchema = z
  .object({
    backbone: z
      .string()
      .min(1)
      .optional()
      .describe('backbone folder (relative to the config file; default: the embedded backbone)'),
    sources: z.array(TaskSourceSchema).default([]).describe('source tasks: one teacher each, distilled into P*'),
    targets: z.array(TaskSourceSchema).min(1).describe('target tasks, none of them a source'),
    methods: z.array(z.enum(EXPERIMENT_METHODS)).min(1).describe('methods compared: pt, mpt, lora, full'),
    k: z
      .array(KSchema)
      .min(1)
      .default([0, 1, 5, 10, 20, 'full'])
      .describe('training examples per draw (per label for closed-label tasks)'),
    draws: z.number().int().positive().default(10).describe('seeded draws per k (the same draws for every method)'),
    budgets: z
      .partialRecord(z.enum(EXPERIMENT_METHODS), BudgetSchema)
      .default({})
      .describe('per-method settings and training budget'),
    metaPrompt: z
      .string()
      .min(1)
      .optional()
      .describe('instead of sources: an already distilled meta-prompt (an mpt-distill run folder) that mpt adapts'),
    sharedData: z
      .string()
      .min(1)
      .optional()
      .describe('the public data folder catalogue tasks are read from (default: ../shared/data)'),
    teacher: BudgetSchema.default({}).describe('stage 1: the prompt-tuning teachers'),
    distill: BudgetSchema.default({}).describe('stage 2: distillation settings (rank, lambda, temperature) and budget'),
    devLimit: z.number().int().nonnegative().default(0).describe('dev examples scored during training (0: none)'),
    testLimit: z.number().int().positive().optional().describe('evaluate the first N test examples of each target'),
  })
  .strict();

export type ExperimentConfig = z.infer<typeof ExperimentConfigSchema>;
type TaskSource = z.infer<typeof TaskSourceSchema>;
type Budget = z.infer<typeof BudgetSchema>;

/** A source or target with its resolved data path (or catalogue name) and its unique name. */
export interface NamedTask extends TaskSource {
  readonly name: string;
}

export interface ResolvedExperiment extends Omit<ExperimentConfig, 'backbone' | 'sources' | 'targets' | 'sharedData'> {
  readonly backbone: string;
  readonly sources: readonly NamedTask[];
  readonly targets: readonly NamedTask[];
  readonly sharedData: string;
}

/** "targets[1].data" from a zod issue path. */
function fieldOf(issuePath: readonly PropertyKey[]): string {
  return issuePath.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
}

function invalid(field: string, message: string): never {
  throw new UserError('INVALID_ARGUMENT', `Experiment config: ${field}: ${message}`, { field });
}

function taskName(t: TaskSource): string {
  return t.name ?? t.catalogue ?? path.basename(t.data!).replace(/\.(jsonl|json|csv)$/i, '');
}

/** The task names a distilled meta-prompt was taught (its run record's data name, "a+b+c"). */
export function metaPromptSources(dir: string): string[] {
  const record = readRunRecord(dir);
  if (!record || record.method !== 'mpt-distill')
    invalid('metaPrompt', `${dir} is not a distilled meta-prompt (an mpt-distill run folder with run.json).`);
  return record.data.name.split('+');
}

/**
 * Validates a parsed config (paths relative to `baseDir`): every field's type, each method's and
 * the trainer's settings against their schemas, unique task names, and no target among the sources.
 */
export function resolveExperimentConfig(raw: unknown, baseDir: string): ResolvedExperiment {
  const parsed = ExperimentConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    invalid(fieldOf(issue.path) || '(top level)', issue.message);
  }
  const config = parsed.data;
  const resolvePath = (p: string) => {
    const candidate = path.resolve(baseDir, p);
    return existsSync(candidate) ? candidate : p; // not a file: a store dataset name
  };
  const named = (field: string, list: readonly TaskSource[]): NamedTask[] =>
    list.map((t, i) => {
      if (t.catalogue !== undefined) {
        const entry = SOURCE_TASKS.find((e) => e.name === t.catalogue);
        if (!entry)
          invalid(
            `${field}[${i}].catalogue`,
            `"${t.catalogue}" is not in the catalogue (${SOURCE_TASKS.map((e) => e.name).join(', ')}).`,
          );
        return { ...t, task: entry.task, name: taskName(t) };
      }
      // A task or format given means a file (a store dataset knows its own task).
      if ((t.task || t.format) && !existsSync(path.resolve(baseDir, t.data!)))
        invalid(`${field}[${i}].data`, `the file "${t.data}" does not exist (relative to the config file).`);
      if (t.format && !t.task) invalid(`${field}[${i}].task`, `a file read as ${t.format} needs the task it holds.`);
      return { ...t, data: resolvePath(t.data!), name: taskName(t) };
    });
  const sources = named('sources', config.sources);
  const targets = named('targets', config.targets);
  const metaPrompt = config.metaPrompt === undefined ? undefined : path.resolve(baseDir, config.metaPrompt);
  const taught = metaPrompt ? metaPromptSources(metaPrompt) : [];
  const same = (a: NamedTask, b: NamedTask) =>
    a.name === b.name ||
    (a.data !== undefined && a.data === b.data) ||
    (a.catalogue !== undefined && a.catalogue === b.catalogue);
  for (const [i, target] of targets.entries()) {
    const field = `targets[${i}].${target.catalogue !== undefined ? 'catalogue' : 'data'}`;
    const j = sources.findIndex((s) => same(s, target));
    if (j >= 0)
      invalid(
        field,
        `"${target.catalogue ?? target.data}" is also sources[${j}]; a target must be a task the sources never taught.`,
      );
    // a run records a file's task as the file's name, a dataset or catalogue task by its name
    if (taught.includes(target.name) || (target.data !== undefined && taught.includes(path.basename(target.data))))
      invalid(
        field,
        `"${target.name}" is one of the meta-prompt's source tasks (${taught.join(', ')}); pick a task it never saw.`,
      );
  }
  for (const [field, list] of [
    ['sources', sources],
    ['targets', targets],
  ] as const) {
    const seen = new Set<string>();
    for (const [i, t] of list.entries()) {
      if (seen.has(t.name)) invalid(`${field}[${i}].name`, `"${t.name}" names two tasks; give each a distinct name.`);
      seen.add(t.name);
    }
  }
  if (metaPrompt && sources.length > 0)
    invalid('metaPrompt', 'give either sources to distil or an already distilled meta-prompt, not both.');
  if (config.methods.includes('mpt') && sources.length === 0 && !metaPrompt)
    invalid('sources', 'methods include mpt, which needs at least one source task to distil (or a metaPrompt).');
  if (new Set(config.k).size !== config.k.length) invalid('k', 'each k value may appear once.');
  checkBudget('teacher', 'pt', config.teacher, {});
  checkBudget('distill', 'mpt-distill', config.distill, { teachers: ['(stage 1)'] });
  for (const method of config.methods)
    checkBudget(`budgets.${method}`, method, config.budgets[method], filledIn(method));
  return {
    ...config,
    backbone: config.backbone === undefined ? embeddedBackboneDir() : path.resolve(baseDir, config.backbone),
    sources,
    targets,
    ...(metaPrompt && { metaPrompt }),
    sharedData: path.resolve(baseDir, config.sharedData ?? path.join(process.cwd(), '..', 'shared', 'data')),
  };
}

/** Settings the experiment fills in itself (and which a config must not set). */
export function filledIn(method: ExperimentMethod, metaDir = '(stage 2)'): Record<string, unknown> {
  return method === 'mpt' ? { meta: metaDir } : {};
}

function checkBudget(field: string, method: keyof typeof METHODS, budget: Budget | undefined, filled: object): void {
  for (const key of Object.keys(filled))
    if (budget?.settings && key in budget.settings)
      invalid(`${field}.settings.${key}`, 'the experiment sets this itself.');
  const settings = METHODS[method].schema.safeParse({ ...budget?.settings, ...filled });
  if (!settings.success)
    invalid(`${field}.settings.${fieldOf(settings.error.issues[0]!.path)}`, settings.error.issues[0]!.message);
  const train = TrainConfigSchema.safeParse(budget?.train ?? {});
  if (!train.success) invalid(`${field}.train.${fieldOf(train.error.issues[0]!.path)}`, train.error.issues[0]!.message);
}

/** Reads a JSON or YAML (.yaml, .yml) config file; paths in it are relative to the file. */
export function readExperimentConfig(file: string): ResolvedExperiment {
  if (!existsSync(file)) throw new UserError('NOT_FOUND', `Experiment config ${file} does not exist.`);
  const yaml = /\.ya?ml$/i.test(file);
  let raw: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    raw = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new UserError(
      'INVALID_ARGUMENT',
      `Experiment config ${file} is not valid ${yaml ? 'YAML' : 'JSON'}: ${(error as Error).message}`,
    );
  }
  return resolveExperimentConfig(raw, path.dirname(path.resolve(file)));
}

// ---------------------------------------------------------------------------------------------
// the plan
// ---------------------------------------------------------------------------------------------

export const CELL_RESULT = 'cell.json';

export type Cell =
  | {
      readonly kind: 'teacher';
      readonly id: string;
      readonly dir: string;
      readonly needs: readonly string[];
      readonly source: NamedTask;
    }
  | { readonly kind: 'distill'; readonly id: string; readonly dir: string; readonly needs: readonly string[] }
  | {
      readonly kind: 'zero-shot';
      readonly id: string;
      readonly dir: string;
      readonly needs: readonly string[];
      readonly target: NamedTask;
    }
  | {
      readonly kind: 'adapt';
      readonly id: string;
      readonly dir: string;
      readonly needs: readonly string[];
      readonly target: NamedTask;
      readonly method: ExperimentMethod;
      readonly k: number | 'full';
      readonly draw: number;
    };

export const DISTILL_ID = 'distill';

/**
 * Every cell, in the order they may start: teachers, distillation, then per target the zero-shot
 * evaluation (when k includes 0) and method x k x draw adaptations ("full" is one draw: all data).
 */
export function planExperiment(config: ResolvedExperiment, outDir: string): Cell[] {
  const cells: Cell[] = [];
  const distills = config.methods.includes('mpt') && config.metaPrompt === undefined;
  if (distills) {
    for (const source of config.sources) {
      const id = `teachers/${source.name}`;
      cells.push({ kind: 'teacher', id, dir: path.join(outDir, id), needs: [], source });
    }
    cells.push({
      kind: 'distill',
      id: DISTILL_ID,
      dir: path.join(outDir, DISTILL_ID),
      needs: config.sources.map((s) => `teachers/${s.name}`),
    });
  }
  for (const target of config.targets) {
    if (config.k.includes(0)) {
      const id = `cells/${target.name}/zero-shot`;
      cells.push({ kind: 'zero-shot', id, dir: path.join(outDir, id), needs: [], target });
    }
    for (const method of config.methods)
      for (const k of config.k) {
        if (k === 0) continue;
        const draws = k === 'full' ? 1 : config.draws;
        for (let draw = 0; draw < draws; draw++) {
          const id = `cells/${target.name}/${method}/k${k}-d${draw}`;
          const needs = method === 'mpt' && distills ? [DISTILL_ID] : [];
          cells.push({ kind: 'adapt', id, dir: path.join(outDir, id), needs, target, method, k, draw });
        }
      }
  }
  return cells;
}

/** A cell is finished when its last file exists: run.json for a stage, cell.json for a result. */
export function isCellFinished(cell: Cell): boolean {
  return existsSync(path.join(cell.dir, cell.kind === 'teacher' || cell.kind === 'distill' ? RUN_FILE : CELL_RESULT));
}

// ---------------------------------------------------------------------------------------------
// running
// ---------------------------------------------------------------------------------------------

export interface ExperimentRequest {
  readonly config: ResolvedExperiment;
  readonly outDir: string;
  /** Cells run at once, each a job in its own worker (default 1). */
  readonly parallel?: number;
  /**
   * CPU threads per cell (training and evaluation) unless a budget sets its own (default: with
   * `parallel` > 1 the machine's threads shared out among the cells, else onnxruntime's choice).
   */
  readonly threads?: number;
  readonly provider?: ProviderChoice;
  /** Where a llama2.c backbone's converted copy is cached (default CLINPROMPT_MODEL_CACHE). */
  readonly modelCache?: string;
  /** Only these cells (their ids; a cluster scheduler's one job each); the results once all are finished. */
  readonly only?: readonly string[];
  /** Reaches store datasets named as sources or targets. */
  readonly store?: () => Promise<StoreAccess>;
  /** Starts the cell jobs (default: a manager of worker threads of its own, shut down at the end). */
  readonly jobs?: JobManager;
  readonly signal?: AbortSignal;
  /** Cells finished out of all, the ETA, and now and then the training step of a running cell. */
  readonly onProgress?: (p: ExperimentProgress) => void;
}

export interface ExperimentProgress {
  readonly phase: string;
  /** Cells finished (including those finished before this call). */
  readonly step: number;
  readonly totalSteps: number;
  /** From this call's pace so far (cells per second, whatever ran in parallel); none before a cell finished. */
  readonly etaSeconds?: number;
}

/** A running cell's training step is shown at most this often (a log file gets one line each). */
const CELL_PROGRESS_MS = 2000;

/** The job that ran a cell, and where and when. */
export interface CellJob extends CellJobResult {
  readonly cell: string;
  readonly jobId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
}

export interface ExperimentSummary {
  readonly cells: number;
  /** Cells this call ran (the rest were finished before). */
  readonly ran: readonly string[];
  readonly jobs: readonly CellJob[];
  readonly skipped: number;
  /** The results table and curve; none while some cell of the plan is unfinished (`only`). */
  readonly files?: ResultFiles;
  readonly wallSeconds: number;
}

/** A budget as it decides results: CPU threads change the speed, not the results (the trainer's
 * run key leaves them out too), and an absent budget means the method's defaults. */
function resultBudget(b: Budget | undefined) {
  const { threads: _threads, ...train } = b?.train ?? {};
  return { settings: b?.settings ?? {}, train };
}

/** What the config says that changes every finished cell's meaning (a resume must not mix two). */
function identity(config: ResolvedExperiment) {
  const { backbone, sources, metaPrompt, teacher, distill, devLimit, testLimit } = config;
  return canonicalJson({
    backbone,
    sources,
    metaPrompt,
    teacher: resultBudget(teacher),
    distill: resultBudget(distill),
    devLimit,
    testLimit,
  });
}

/**
 * The budget of every method an experiment folder has run (experiment.json's `methodBudgets`),
 * kept across reruns that drop a method so that it cannot come back with another budget.
 * A folder written before the field existed has run its config's methods.
 */
type MethodBudgets = Partial<Record<ExperimentMethod, ReturnType<typeof resultBudget>>>;
interface ExperimentFolderFile extends ResolvedExperiment {
  readonly methodBudgets?: MethodBudgets;
}

function methodBudgets(config: ResolvedExperiment): MethodBudgets {
  return Object.fromEntries(config.methods.map((m) => [m, resultBudget(config.budgets[m])]));
}

export const EXPERIMENT_FILE = 'experiment.json';

/**
 * Claims `outDir` for this config: refused when it holds an experiment with another backbone,
 * sources, stage budgets or limits, or in which one of this config's methods ran with another
 * budget. Adding methods, targets, k values or draws to a finished experiment runs only the new cells.
 */
function claimOutDir(config: ResolvedExperiment, outDir: string): void {
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, EXPERIMENT_FILE);
  let ran: MethodBudgets = {};
  if (existsSync(file)) {
    const theirs = JSON.parse(readFileSync(file, 'utf8')) as ExperimentFolderFile;
    if (identity(theirs) !== identity(config))
      throw new UserError(
        'INVALID_ARGUMENT',
        `--out ${outDir} holds an experiment with another backbone, sources, teacher or distill budget, devLimit or testLimit; give a new --out to run this config.`,
      );
    ran = theirs.methodBudgets ?? methodBudgets(theirs);
  }
  const mine = methodBudgets(config);
  for (const method of config.methods) {
    const before = ran[method];
    if (before && canonicalJson(before) !== canonicalJson(mine[method]))
      throw new UserError(
        'INVALID_ARGUMENT',
        `--out ${outDir} holds ${method} cells trained with another budget (budgets.${method}); give a new --out, or the budget it ran with: ${JSON.stringify(before)}.`,
        { field: `budgets.${method}` },
      );
  }
  const record: ExperimentFolderFile = { ...config, methodBudgets: { ...ran, ...mine } };
  // Cell jobs (and a scheduler's --cell jobs side by side) read it: never a half-written file.
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(record, null, 2) + '\n');
  renameSync(temp, file);
}

/** The cells `only` names, refusing an unknown id or one whose inputs neither exist nor run here. */
function selectCells(cells: readonly Cell[], only: readonly string[] | undefined): Cell[] {
  if (only === undefined) return [...cells];
  const ids = new Set(only);
  for (const id of ids)
    if (!cells.some((c) => c.id === id))
      throw new UserError('NOT_FOUND', `--cell ${id} is no cell of this experiment (--list shows them).`, {
        field: 'cell',
      });
  const chosen = cells.filter((c) => ids.has(c.id));
  for (const cell of chosen) {
    const missing = cell.needs.filter((id) => !ids.has(id) && !isCellFinished(cells.find((c) => c.id === id)!));
    if (missing.length > 0)
      throw new UserError(
        'INVALID_ARGUMENT',
        `--cell ${cell.id} needs ${missing.join(', ')}, not finished yet; run those cells first.`,
        { field: 'cell' },
      );
  }
  return chosen;
}

/** The tasks a cell reads. */
function cellTasks(config: ResolvedExperiment, cell: Cell): readonly NamedTask[] {
  if (cell.kind === 'teacher') return [cell.source];
  if (cell.kind === 'distill') return config.sources;
  return [cell.target];
}

function isStoreTask(t: NamedTask): boolean {
  return t.catalogue === undefined && t.format === undefined && !isDataFile(t.data!);
}

/** How readTaskData reads a task given with a format (as clinprompt import would), or undefined. */
export function importedSource(t: NamedTask): ImportedSource | undefined {
  if (t.format === undefined) return undefined;
  const { devFromTrain, ...settings } = t.read ?? {};
  // the config's names are the import flags'; readDataset calls the dev share devFraction
  const read = Object.fromEntries(
    Object.entries({ ...settings, devFraction: devFromTrain }).filter(([, value]) => value !== undefined),
  ) as NonNullable<ImportedSource['read']>;
  return { format: t.format, ...(t.mapping !== undefined && { mapping: t.mapping }), read };
}

export async function runExperiment(r: ExperimentRequest): Promise<ExperimentSummary> {
  const started = Date.now();
  const { config, outDir } = r;
  claimOutDir(config, outDir);
  // Converts a llama2.c backbone once, before cell jobs would race to convert it side by side.
  openBackbone(config.backbone, { ...(r.modelCache && { cacheDir: r.modelCache }) });
  const cells = planExperiment(config, outDir);
  const chosen = selectCells(cells, r.only);
  const finished = new Set(cells.filter(isCellFinished).map((c) => c.id));
  const skipped = chosen.filter((c) => finished.has(c.id)).length;
  // Cells differ a lot in length (a teacher, a zero-shot evaluation): the ETA is this call's
  // average pace, not a per-step moving average.
  const callStarted = performance.now();
  let lastReport = 0;
  const ran: string[] = [];
  const cellJobs: CellJob[] = [];
  const report = (phase: string) => {
    lastReport = performance.now();
    const ranHere = ran.length;
    r.onProgress?.({
      phase,
      step: finished.size,
      totalSteps: cells.length,
      ...(ranHere > 0 && {
        etaSeconds: ((lastReport - callStarted) / 1000 / ranHere) * (chosen.length - skipped - ranHere),
      }),
    });
  };

  // Store datasets are read here (workers hold no store key) and handed to the cell's job.
  const storeTasks = new Map<string, Promise<TaskData>>();
  const inputsOf = async (cell: Cell): Promise<JobInputs> => {
    const tasks: Record<string, TaskData> = {};
    for (const t of cellTasks(config, cell).filter(isStoreTask)) {
      if (!storeTasks.has(t.name))
        storeTasks.set(
          t.name,
          readTaskData(t.data!, { ...(t.task && { task: t.task }), ...(r.store && { store: r.store }) }),
        );
      tasks[t.name] = await storeTasks.get(t.name)!;
    }
    return Object.keys(tasks).length > 0 ? { tasks } : {};
  };

  const parallel = Math.max(1, r.parallel ?? 1);
  // Each cell's onnxruntime sessions would otherwise take every core, N cells N times over.
  const threads = r.threads ?? (parallel > 1 ? Math.max(1, Math.floor(availableParallelism() / parallel)) : undefined);
  const jobs = r.jobs ?? new JobManager(() => launchThreadWorker());
  const runningCells = new Map<string, Cell>();
  const unsubscribe = jobs.subscribe({
    onDidProgress: (p) => {
      const cell = runningCells.get(p.jobId);
      if (cell && performance.now() - lastReport >= CELL_PROGRESS_MS)
        report(`${cell.id}: ${p.phase === 'training' ? `step ${p.step}/${p.totalSteps}` : p.phase}`);
    },
  });

  const runCellJob = async (cell: Cell): Promise<void> => {
    if (r.signal?.aborted) throw new CancelledError();
    const inputs = await inputsOf(cell).catch((error: unknown) => {
      throw cellFailure(cell, serializeError(error));
    });
    const job = jobs.start(
      {
        kind: 'experiment-cell',
        out: outDir,
        cell: cell.id,
        ...(threads !== undefined && { threads }),
        ...(r.modelCache && { modelCache: r.modelCache }),
        ...(r.provider && { provider: r.provider }),
      },
      inputs,
    );
    runningCells.set(job.jobId, cell);
    const cancel = () => void jobs.cancel(job.jobId).catch(() => undefined);
    r.signal?.addEventListener('abort', cancel, { once: true });
    let state: JobState;
    try {
      state = await jobs.wait(job.jobId);
    } finally {
      r.signal?.removeEventListener('abort', cancel);
      runningCells.delete(job.jobId);
    }
    if (state.status !== 'succeeded') throw cellFailure(cell, state.error);
    cellJobs.push({
      cell: cell.id,
      jobId: state.jobId,
      ...(state.result as CellJobResult),
      startedAt: state.startedAt,
      finishedAt: state.finishedAt!,
    });
    ran.push(cell.id);
    finished.add(cell.id);
    report(cell.id);
  };

  report(skipped > 0 ? `${skipped} cells finished before` : 'starting');
  try {
    await runWithLimit(
      chosen.filter((c) => !finished.has(c.id)),
      finished,
      parallel,
      runCellJob,
    );
  } catch (error) {
    if (error instanceof CancelledError)
      throw new CancelledError(
        `Experiment stopped: ${finished.size} of ${cells.length} cells are finished and kept, running cells keep ` +
          `their checkpoints. Run the same command with --out ${outDir} again to resume.`,
      );
    throw error;
  } finally {
    unsubscribe();
    if (!r.jobs) await jobs.shutdown();
  }

  const summary = { cells: cells.length, ran, jobs: cellJobs, skipped };
  const wallSeconds = () => (Date.now() - started) / 1000;
  if (finished.size < cells.length) return { ...summary, wallSeconds: wallSeconds() };
  const results = cells.flatMap((c) => (c.kind === 'zero-shot' || c.kind === 'adapt' ? [readCellResult(c.dir)] : []));
  // The untrained backbone is every method's k = 0 point.
  const expanded = results.flatMap((c) =>
    c.method === 'zero-shot' ? config.methods.map((method) => ({ ...c, method })) : [c],
  );
  const files = await writeResults(outDir, expanded, config.methods, config.k.map(String));
  return { ...summary, files, wallSeconds: wallSeconds() };
}

/** A cell job's failure, naming the cell (a cancel stays a cancel). */
function cellFailure(cell: Cell, error: SerializedError | undefined): Error {
  const cause = deserializeError(error ?? { code: 'WORKER_FAILED', message: 'The cell job stopped without a result.' });
  if (cause instanceof CancelledError) return cause;
  const code = cause instanceof UserError ? cause.code : 'WORKER_FAILED';
  return new UserError(
    code,
    `Cell ${cell.id} failed: ${cause.message} Finished cells are kept; run the same command again to go on.`,
    cause instanceof UserError && cause.field !== undefined ? { field: cause.field } : undefined,
  );
}

function readCellResult(dir: string): CellResult {
  return JSON.parse(readFileSync(path.join(dir, CELL_RESULT), 'utf8')) as CellResult;
}

/**
 * Runs cells up to `limit` at once, each once the cells it needs are done. The first failure (or
 * cancellation) stops new starts; cells already running finish or stop on the same signal.
 */
async function runWithLimit(
  pending: readonly Cell[],
  done: ReadonlySet<string>,
  limit: number,
  run: (cell: Cell) => Promise<void>,
): Promise<void> {
  const waiting = [...pending];
  const running = new Map<string, Promise<void>>();
  let failure: unknown;
  while ((waiting.length > 0 && failure === undefined) || running.size > 0) {
    while (failure === undefined && running.size < limit) {
      const index = waiting.findIndex((c) => c.needs.every((id) => done.has(id)));
      if (index < 0) break;
      const [cell] = waiting.splice(index, 1);
      running.set(
        cell!.id,
        run(cell!)
          .catch((error: unknown) => {
            failure ??= error;
          })
          .finally(() => running.delete(cell!.id)),
      );
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  if (failure !== undefined) throw failure;
  if (waiting.length > 0)
    throw new Error(`Cells left unstarted (their inputs never finished): ${waiting.map((c) => c.id).join(', ')}`);
}
