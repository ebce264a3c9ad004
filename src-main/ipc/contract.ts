/**
 * The one IPC contract between the renderer (Svelte wizard) and the main process.
 *
 * Shared by the preload (which exposes only this), the main-process dispatcher (which validates
 * every call against it) and the renderer (which gets a typed proxy of it). It imports nothing
 * runtime-specific: no electron, no node built-ins, no DOM. Every type that crosses the
 * renderer/main or main/worker boundary lives here.
 *
 * Conventions: requests are `area.verb` and return promises; events are `area.onDid...`.
 */
import { z } from 'zod';

import type { SerializedError } from '../common/errors.js';
import {
  IMPORT_FORMATS,
  PROVIDER_CHOICES,
  SPLITS,
  TASK_TYPES,
  type ImportFormat,
  type JobStatus,
  type Split,
  type TaskType,
} from '../common/vocabulary.js';

export type { SerializedError };
// The names every layer shares (common/vocabulary.ts), for the renderer, which imports only this file.
export * from '../common/vocabulary.js';

/** Prefix of every Electron IPC channel name; main refuses anything else. */
export const IPC_PREFIX = 'clinprompt:';

// ---------------------------------------------------------------------------------------------
// Values that cross the boundary
// ---------------------------------------------------------------------------------------------

export interface AppInfo {
  readonly name: string;
  readonly version: string;
  /** Where the encrypted store and packs live (CLINPROMPT_HOME or the OS app-data folder). */
  readonly dataDir: string;
  /** 'electron' inside the desktop app; 'node' for the CLI and the test harness. */
  readonly runtime: 'electron' | 'node';
  readonly platform: string;
  /** Whether `dialogs.pickPath` has an OS file chooser behind it (the desktop app); else type paths. */
  readonly canPickPaths: boolean;
}

/** The Evaluate step scores at most this many other runs beside the adapted prompt (each one is a pass over the examples). */
export const MAX_BASELINE_RUNS = 3;

/** Kinds of long work that run in a worker. Each later area adds its kinds here. */
export const JOB_KINDS = ['system-check', 'train', 'evaluate', 'predict', 'demo', 'experiment-cell'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const JobRequestSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('system-check'),
    /** Milliseconds to pause between checks, so that progress can be watched (UI demos, tests). */
    pauseMs: z.number().int().min(0).max(10_000).default(0),
  }),
  z.object({
    kind: z.literal('train'),
    /** Backbone folder (default: the embedded backbone). */
    backbone: z.string().min(1).optional(),
    /**
     * A task's examples as an exported .jsonl/.csv file, or the name of the store dataset whose
     * examples the host hands to the worker in memory (workers hold no store key).
     */
    data: z.string().min(1),
    task: z.enum(TASK_TYPES),
    /** Run folder; the same request again resumes from its checkpoint. */
    out: z.string().min(1),
    method: z.string().min(1),
    /** The method's settings (peft/<method>/config.ts) and the trainer's (peft/config.ts). */
    settings: z.record(z.string(), z.unknown()).default({}),
    train: z.record(z.string(), z.unknown()).default({}),
    provider: z.enum(PROVIDER_CHOICES).default('cpu'),
  }),
  z.object({
    kind: z.literal('evaluate'),
    backbone: z.string().min(1).optional(),
    /** As for `train`: an exported file, or a store dataset's name when the host hands the examples over. */
    data: z.string().min(1),
    task: z.enum(TASK_TYPES),
    /** The trained run folder, scored beside the untrained backbone. */
    run: z.string().min(1),
    /** Other finished runs on the same backbone and task (e.g. PT or LoRA), scored on the same examples. */
    baselines: z.array(z.string().min(1)).max(MAX_BASELINE_RUNS).default([]),
    split: z.enum(SPLITS).default('test'),
    /** At most this many examples of the split (the wizard keeps evaluation short). */
    limit: z.number().int().positive().max(100_000).default(200),
    provider: z.enum(PROVIDER_CHOICES).default('cpu'),
  }),
  z.object({
    kind: z.literal('predict'),
    backbone: z.string().min(1).optional(),
    /** As for `train`: an exported file, or a store dataset's name when the host hands the notes over. */
    data: z.string().min(1),
    task: z.enum(TASK_TYPES),
    /** The trained run folder whose prompt runs over the notes. */
    run: z.string().min(1).optional(),
    /**
     * Instead of a run: a distilled meta-prompt folder, run as the prompt stage 3 starts from (the
     * Label step's suggestions before any adaptation). Neither: the untrained backbone.
     */
    meta: z.string().min(1).optional(),
    /** At most this many notes, in the dataset's order. */
    limit: z.number().int().positive().max(100_000).default(10_000),
    provider: z.enum(PROVIDER_CHOICES).default('cpu'),
  }),
  z.object({
    kind: z.literal('demo'),
    /** Folder for the demo's runs, table and plot; the same request again resumes. */
    out: z.string().min(1),
    /** The public data folder holding the demo's target task (default ../shared/data). */
    sharedData: z.string().min(1).optional(),
    provider: z.enum(PROVIDER_CHOICES).default('cpu'),
  }),
  z.object({
    kind: z.literal('experiment-cell'),
    /** The experiment folder; its experiment.json holds the config the cell belongs to. */
    out: z.string().min(1),
    /** The cell's id in the plan, e.g. "teachers/ddi" or "cells/mednli/mpt/k5-d3". */
    cell: z.string().min(1),
    /** CPU threads for the cell's training and evaluation (default: onnxruntime's choice). */
    threads: z.number().int().positive().optional(),
    /** Where a llama2.c backbone's converted copy is cached (default CLINPROMPT_MODEL_CACHE). */
    modelCache: z.string().min(1).optional(),
    provider: z.enum(PROVIDER_CHOICES).default('cpu'),
  }),
]);
export type JobRequest = z.input<typeof JobRequestSchema>;
export type ParsedJobRequest = z.output<typeof JobRequestSchema>;

/** One progress report from a running job. Fields a job cannot know are left out. */
export interface JobProgress {
  readonly jobId: string;
  readonly kind: JobKind;
  /** Human-readable phase, e.g. "Loading backbone", "Training". Never contains note text. */
  readonly phase: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly loss?: number;
  /** The dev metric as measured during training (the task's headline metric). */
  readonly metric?: number;
  readonly tokensPerSecond?: number;
  /** Estimated seconds left, from the observed step rate. */
  readonly etaSeconds?: number;
}

export interface JobState {
  readonly jobId: string;
  readonly kind: JobKind;
  readonly status: JobStatus;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly progress?: JobProgress;
  /** JSON-serialisable result of a succeeded job; its shape depends on the kind. */
  readonly result?: unknown;
  readonly error?: SerializedError;
}

/** Result of the `system-check` job: what this workstation can run. */
export interface SystemCheckResult {
  readonly checks: readonly SystemCheck[];
}
export interface SystemCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** How a store's data key is protected (store/keys/keyring.ts wrapper kinds). */
export type StoreProtection = 'passphrase' | 'keychain' | 'safe-storage';

/**
 * The encrypted store as the app sees it: absent (first run), locked, or unlocked for the person
 * logged in to the workstation. Nothing secret, nothing from the notes.
 */
export interface StoreState {
  readonly state: 'absent' | 'locked' | 'unlocked';
  readonly dataDir: string;
  /** The workstation login the app acts as; must be a user of the store. */
  readonly username: string;
  /** The store user's role, once unlocked. */
  readonly role?: string;
  /** The role in the words the app shows ("Informatics administrator"). */
  readonly roleTitle?: string;
  /** How the existing store's key is protected (empty while absent). */
  readonly protections: readonly StoreProtection[];
  /** Locked: the OS keychain or safeStorage can unlock it, no passphrase needed. */
  readonly unlocksWithoutPassphrase: boolean;
  /** Absent: what set-up protects the key with unless a passphrase is chosen. */
  readonly automaticProtection?: 'keychain' | 'safe-storage';
  /** Absent, with no automatic protection: why a passphrase is needed. */
  readonly passphraseReason?: string;
  /** The store locks itself after this many seconds without activity. */
  readonly autoLockSeconds: number;
}

/** A user of the store as the Users screen shows them (services/user-handlers.ts). */
export interface UserView {
  readonly username: string;
  readonly displayName: string;
  readonly role: string;
  /** The role in the words the app shows ("Informatics administrator"). */
  readonly roleTitle: string;
  /** False once removed: their credentials are revoked; they stay in the audit history. */
  readonly active: boolean;
  readonly createdAt: string;
  /** The person acting (the workstation login). */
  readonly you: boolean;
}

/** A role the Users screen offers, with what it may do in plain words. */
export interface RoleView {
  readonly role: string;
  readonly title: string;
  readonly summary: string;
}

export type SplitCountsView = Readonly<Record<Split, number>> & { readonly total: number };

/** A stored dataset: names, counts and labels only (no note text). */
export interface DatasetListing {
  readonly id: number;
  readonly name: string;
  readonly taskType: TaskType;
  readonly sourceFormat: string;
  readonly labelSet: readonly string[];
  readonly createdAt: string;
  readonly counts: SplitCountsView;
  /** How often each label occurs, per split. */
  readonly labelCounts: Readonly<Record<Split, Readonly<Record<string, number>>>>;
  /** No example has a gold target (plain notes); free-text tasks have targets but no labels. */
  readonly unlabelled: boolean;
}

/** One previewed example: its id, split, labels, and the framed prompt and target. */
export interface DatasetPreviewRow {
  readonly externalId: string | null;
  readonly split: Split;
  readonly labels: readonly string[];
  readonly prompt: string;
  readonly target?: string;
}

/** What an import found: counts, duplicates, conflicts, what it left out, split leakage and label balance. */
export interface DatasetImportReport {
  readonly read: number;
  readonly duplicatesRemoved: number;
  /** Same input, another target, same split: kept once per target. */
  readonly conflictingDuplicates: number;
  /** External ids (never text) of a few of them. */
  readonly conflicts: readonly string[];
  /** What was left out on purpose, counted (e.g. relations when importing for NER). */
  readonly notices: Readonly<Record<string, number>>;
  /** With skipBadRows: the skipped records as "file, line: problem" (never their text), the first 1,000. */
  readonly skipped: readonly string[];
  readonly skippedCount: number;
  readonly splitsDrawn: boolean;
  readonly unlabelled: boolean;
  /** Why the examples went to the splits they did, where a rule rather than the files decided (notes: all test). */
  readonly splitReason?: string;
  readonly leakage: {
    readonly trainDev: number;
    readonly trainTest: number;
    readonly devTest: number;
    /** External ids (never text) of a few leaked evaluation examples. */
    readonly examples: readonly string[];
  };
  readonly balance: {
    readonly imbalanceRatio: number;
    readonly missing: Readonly<Record<Split, readonly string[]>>;
  };
}

export interface DatasetImportResult {
  readonly datasetId: number;
  readonly name: string;
  readonly counts: SplitCountsView;
  readonly labelSet: readonly string[];
  readonly report: DatasetImportReport;
}

/** A public source task (data/catalogue.ts) with the parameters that import it. */
export interface SourceTaskListing {
  readonly name: string;
  readonly title: string;
  readonly task: TaskType;
  readonly format: ImportFormat;
  /** Relative to the shared data folder. */
  readonly path: string;
  /** The absolute path on this computer, and whether it is there. */
  readonly location: string;
  readonly present: boolean;
  readonly mapping?: string;
  /** Import with drawSplits: the file's name names one split, but the set is for training. */
  readonly drawSplits?: boolean;
  readonly expected: string;
}

/** The file's columns picked for each task field (the app); several columns make a list (QA options). */
const ColumnMapping = z.record(z.string().trim().min(1).max(40), z.array(z.string().max(4096)).max(26));

export const DatasetImportSchema = z.object({
  format: z.enum(IMPORT_FORMATS),
  path: z.string().trim().min(1, 'choose a file or folder').max(4096),
  task: z.enum(TASK_TYPES),
  name: z
    .string()
    .trim()
    .min(1, 'give the dataset a name')
    .max(100)
    .regex(/^[\w .-]+$/, 'use letters, digits, spaces, dot, dash or underscore'),
  /** JSONL/CSV: the columns picked per field, or a written mapping (`field=column,...`, `preset:NAME`). */
  mapping: z.union([z.string().trim().max(2000), ColumnMapping]).optional(),
  /** The encoding of files without a byte-order mark (default utf-8), e.g. windows-1252. */
  encoding: z.string().trim().min(1).max(40).optional(),
  /** Import bytes invalid in the encoding as U+FFFD instead of refusing the file. */
  replaceInvalid: z.boolean().optional(),
  /** Spreadsheets: the sheet's name or 1-based number (default the first). */
  sheet: z.string().trim().min(1).max(200).optional(),
  /** JSON: the top-level key whose list holds the records. */
  records: z.string().trim().min(1).max(200).optional(),
  /** JSONL/CSV: the column that keeps rows together when splits are drawn. */
  groupBy: z.string().trim().min(1).max(200).optional(),
  /** Folders: file patterns to import only / to leave out (globs, e.g. *.csv). */
  include: z.array(z.string().trim().min(1).max(500)).max(50).optional(),
  exclude: z.array(z.string().trim().min(1).max(500)).max(50).optional(),
  /** Import what parses and list each record that does not, instead of importing nothing. */
  skipBadRows: z.boolean().optional(),
  /** Ignore train/dev/test in file and folder names and draw splits with the seed. */
  drawSplits: z.boolean().optional(),
});
export type DatasetImportRequest = z.input<typeof DatasetImportSchema>;

/** What `imports.preview` reads: the import's source and reading settings, and how many records. */
export const ImportPreviewSchema = DatasetImportSchema.pick({
  format: true,
  path: true,
  task: true,
  mapping: true,
  encoding: true,
  replaceInvalid: true,
  sheet: true,
  records: true,
  include: true,
  exclude: true,
}).extend({ limit: z.number().int().min(1).max(20).default(5) });
export type ImportPreviewRequest = z.input<typeof ImportPreviewSchema>;

/** A field of the task that a column mapping fills (data/mapping.ts), with the columns picked for it. */
export interface ImportFieldView {
  readonly name: string;
  /** What the field holds, in words. */
  readonly holds: string;
  readonly required: boolean;
  /** Takes several columns, read as a list (QA's options). */
  readonly list: boolean;
  /** The file's columns the preset's mapping names for it, else the best guess; empty when none fits. */
  readonly columns: readonly string[];
}

/** A source's first records before import (note text: shown to whoever may import it, never logged). */
export interface ImportPreview {
  /** The file the rows come from: for a folder, the first file the import reads. */
  readonly file: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** JSONL/CSV without a preset: the task's fields to pick columns for. Else empty: the format says what is what. */
  readonly fields: readonly ImportFieldView[];
  /** JSON read without a records key whose records sit under one: that key, which the import then needs. */
  readonly records?: string;
}

// ---------------------------------------------------------------------------------------------
// Prompt packs (services/packs.ts, docs/prompt-pack.md)
// ---------------------------------------------------------------------------------------------

export type PackSignatureStatus = 'trusted' | 'untrusted' | 'unsigned' | 'invalid';

export interface PackListing {
  readonly promptId: number;
  readonly name: string;
  readonly version: number;
  readonly method: string;
  /** 'export' (made here) or 'import'. */
  readonly source: string;
  readonly packId: string;
  readonly keyId: string | null;
  readonly trusted: boolean;
  readonly taskTypes: readonly string[];
  readonly backboneFingerprint: string;
  readonly createdAt: string;
}

export interface PackVerificationView {
  readonly ok: boolean;
  readonly file: string;
  readonly intact: boolean;
  readonly signature: PackSignatureStatus | null;
  readonly keyId: string | null;
  readonly name: string | null;
  readonly version: number | null;
  readonly problem: string | null;
}

export interface PackInspectionView {
  /** The manifest as docs/prompt-pack.md describes it. */
  readonly manifest: Readonly<Record<string, unknown>> & { readonly name: string; readonly version: number };
  readonly signature: { readonly keyId: string; readonly valid: boolean; readonly publicKey: string } | null;
}

export interface PackExportView {
  readonly file: string;
  readonly id: string;
  readonly name: string;
  readonly version: number;
  readonly method: string;
  readonly keyId: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly confirmedFindings: readonly { readonly field: string; readonly kind: string; readonly offset: number }[];
}

export interface PackImportView {
  readonly promptId: number;
  readonly id: string;
  readonly name: string;
  readonly version: number;
  readonly method: string;
  readonly signature: PackSignatureStatus;
  readonly keyId: string | null;
}

export interface SigningKeyView {
  readonly keyId: string;
  readonly publicKey: string;
  readonly label: string;
  readonly own: boolean;
  readonly trusted: boolean;
  readonly addedAt: string;
  readonly addedBy: string;
  readonly removedAt: string | null;
}

// ---------------------------------------------------------------------------------------------
// Backbone, adaptation and evaluation (services/adapt.ts): what the wizard's steps show
// ---------------------------------------------------------------------------------------------

/** A backbone folder in plain words: what it is, where it runs, how much memory it needs. */
export interface BackboneView {
  readonly folder: string;
  /** The folder's name, or "embedded" for the embedded default. */
  readonly name: string;
  readonly embedded: boolean;
  readonly architecture: string;
  readonly parameters: number;
  /** Where it runs ("this computer's processor (CPU)"). */
  readonly provider: string;
  readonly contextTokens: number;
  /** Estimated bytes to run it (inference) and to adapt a prompt on it (training, batch 1). */
  readonly inferenceBytes: number;
  readonly trainingBytes: number;
  readonly availableBytes: number;
  /** Whether adapting a prompt fits in the available memory. */
  readonly fits: boolean;
  /** The shipped meta-prompt (an mpt-distill run folder) beside the embedded backbone, when there is one. */
  readonly metaPrompt: string | null;
}

/** The adaptation methods the wizard offers. */
export const ADAPT_METHODS = ['mpt', 'pt', 'lora'] as const;
export type AdaptMethod = (typeof ADAPT_METHODS)[number];

/** One training setting of the form, from the trainer's schema (peft/config.ts). */
export interface SettingView {
  readonly key: string;
  readonly label: string;
  readonly help: string;
  readonly kind: 'integer' | 'number' | 'boolean' | 'choice';
  readonly choices?: readonly string[];
  readonly default?: number | boolean | string;
  /** Shown first; the others sit in the "advanced" section. */
  readonly basic: boolean;
}

export interface AdaptOptionsView {
  readonly methods: readonly {
    readonly method: AdaptMethod;
    readonly title: string;
    readonly summary: string;
    /** Why it cannot be chosen (MPT without a meta-prompt), or null. */
    readonly unavailable: string | null;
  }[];
  /** The method chosen unless the user picks another: MPT when a meta-prompt exists. */
  readonly defaultMethod: AdaptMethod;
  readonly settings: readonly SettingView[];
}

/** What the wizard reads of a succeeded `train` job's result (a part of the run record). */
export interface AdaptRunView {
  /** The run folder. */
  readonly outDir: string;
  readonly method: string;
  readonly steps: number;
  readonly totalSteps: number;
  readonly trainableParameters: number;
  readonly trainableShare: number;
  readonly losses: readonly number[];
  readonly resumedFromStep: number;
}

/**
 * A finished adaptation run recorded in the store whose run folder is still there: what the Run
 * and Export steps offer to choose from, also after a restart (services/finished-runs.ts).
 */
export interface RunListing {
  readonly runId: number;
  /** The run folder. */
  readonly outDir: string;
  readonly method: string;
  /** The method in words ("Prompt tuning"). */
  readonly methodTitle: string;
  readonly task: TaskType;
  /** The dataset it was trained on, and how many of its examples it trained on (k). */
  readonly dataset: string;
  readonly trainExamples: number;
  readonly finishedAt: string;
  readonly startedBy: string;
  readonly steps: number;
  /** The backbone it was trained on: its name, and its folder when the store recorded one. */
  readonly backbone: { readonly name: string; readonly folder: string | null };
  /** The task's headline metric as last measured: on the test split when evaluated, else on dev during training. */
  readonly metric: { readonly name: string; readonly split: string; readonly value: number } | null;
}

/**
 * A training run that stopped before its end (cancelled, failed, or the app closed while it ran)
 * and whose run folder holds a checkpoint to resume from (services/interrupted-runs.ts).
 */
export interface InterruptedRunView {
  readonly runId: number;
  readonly method: string;
  readonly task: TaskType;
  /** The dataset it trains on. */
  readonly dataset: string;
  readonly startedAt: string;
  /** The step its checkpoint holds, and the configured step count when one was set. */
  readonly step: number;
  readonly totalSteps: number | null;
  /** The backbone folder it trains on: a resume uses the same one. */
  readonly backbone: string;
}

export interface MetricView {
  readonly name: string;
  readonly estimate: number;
  readonly low: number;
  readonly high: number;
}

/** Another finished run scored on the same examples as the adapted prompt (the Evaluate step's baseline runs). */
export interface BaselineRunView {
  /** The run folder. */
  readonly run: string;
  readonly method: string;
  /** How many training examples it learnt from (k). */
  readonly trainExamples: number;
  readonly metrics: readonly MetricView[];
  readonly unparseable: number;
}

/** One point of the few-shot curve: a method's headline metric, with its interval, after k training examples. */
export interface FewShotPointView {
  readonly method: string;
  readonly k: number;
  readonly estimate: number;
  readonly low: number;
  readonly high: number;
}

/** One evaluated example: the note's input, the gold answer and each model's output. */
export interface EvaluatedExampleView {
  readonly id: string;
  readonly input: string;
  readonly gold: string;
  readonly adapted: string;
  readonly baseline: string;
  readonly adaptedCorrect: boolean;
  readonly baselineCorrect: boolean;
}

/** Result of the `evaluate` job: the adapted prompt against the untrained backbone on one split. */
export interface EvaluationView {
  readonly split: Split;
  readonly n: number;
  readonly headline: string;
  readonly confidence: number;
  readonly adapted: readonly MetricView[];
  readonly baseline: readonly MetricView[];
  /** Per label or entity type (precision, recall, F1), when the task's metric has one. */
  readonly perLabel: readonly {
    readonly label: string;
    readonly adapted: { readonly precision: number; readonly recall: number; readonly f1: number } | null;
    readonly baseline: { readonly precision: number; readonly recall: number; readonly f1: number } | null;
  }[];
  readonly unparseable: { readonly adapted: number; readonly baseline: number };
  readonly examples: readonly EvaluatedExampleView[];
  /** The adapted prompt's method and training examples (k). */
  readonly method: string;
  readonly trainExamples: number;
  /** The baseline runs asked for, in the order asked. */
  readonly runs: readonly BaselineRunView[];
  /** The few-shot curve's points; empty unless a method was run at two or more k. */
  readonly curve: readonly FewShotPointView[];
}

/** A mention the prompt found, as a character range of the note's text (start -1: not found in it). */
export interface EntityView {
  readonly start: number;
  readonly end: number;
  readonly type: string;
  readonly text: string;
}

/** One note the Run step ran the prompt over, and its answer as the task's parser read it. */
export interface NoteResultView {
  readonly id: string;
  readonly split: Split;
  /** The note's fields (text; premise and hypothesis; question, context and options; source). */
  readonly input: Readonly<Record<string, string>>;
  /** What the model wrote (for closed labels: the label it scored highest). */
  readonly output: string;
  /** False when the output could not be read as an answer of the task. */
  readonly ok: boolean;
  /** Lines of the output that could not be used. */
  readonly problems: readonly string[];
  /** NER: the mentions, as ranges of `input.text`. */
  readonly entities?: readonly EntityView[];
  /** RE over a whole text: head ; type ; tail. */
  readonly relations?: readonly { readonly head: EntityView; readonly type: string; readonly tail: EntityView }[];
  /** QA, NLI, RE with a given pair: the label or answer; summarisation: the summary. */
  readonly answer?: string;
}

/** Result of the `predict` job: a trained prompt run over a dataset's notes. */
export interface NoteRunView {
  readonly task: TaskType;
  readonly dataset: string;
  /** The run folder of the prompt (the meta-prompt folder for suggestions from it; empty for the untrained backbone). */
  readonly run: string;
  readonly n: number;
  readonly unparseable: number;
  readonly results: readonly NoteResultView[];
}

/** How the Run step's results leave the app: one JSON object per note, a spreadsheet, or BRAT standoff (NER, RE). */
export const RESULT_FORMATS = ['jsonl', 'csv', 'brat'] as const;
export type ResultFormat = (typeof RESULT_FORMATS)[number];

/** What exporting a run as a pack will write, shown before anything is written. */
export interface PackPreviewView {
  readonly name: string;
  readonly version: number;
  readonly method: string;
  readonly tasks: readonly { readonly name: string; readonly type: TaskType; readonly labels: readonly string[] }[];
  readonly backbone: string;
  readonly trainableParameters: number;
  /** What the PHI scan found in the pack's text: where, and what kind; never the text itself. */
  readonly findings: readonly { readonly field: string; readonly kind: string; readonly offset: number }[];
  /** Who signs it: the store user and this workstation's key (null until its first export makes one). */
  readonly signer: { readonly user: string; readonly keyId: string | null };
}

// ---------------------------------------------------------------------------------------------
// The Task and Label steps (services/task-setup.ts, services/labelling.ts)
// ---------------------------------------------------------------------------------------------

/** A task type as the Task step offers it: its default template and the fields a template may use. */
export interface TaskTypeView {
  readonly type: TaskType;
  readonly title: string;
  readonly defaultTemplate: string;
  readonly requiredFields: readonly string[];
  readonly knownFields: readonly string[];
  /** A label set to start from when the dataset has none. */
  readonly defaultLabels: readonly string[];
  /** Whether the Label step can label this type in this version. */
  readonly labelled: boolean;
}

/** The first example of a dataset framed with an edited template, or why the template is unusable. */
export interface TemplatePreviewView {
  readonly prompt: string | null;
  readonly problem: string | null;
}

/** A label made in the app: a span of `LabelItemView.text`, or (start null) the whole example. */
export interface LabelMarkView {
  readonly id: number;
  readonly label: string;
  readonly start: number | null;
  readonly end: number | null;
  /** A summary's text. */
  readonly value?: string;
  /** RE: the two mentions a relation joins (start and end are null on a relation). */
  readonly head?: { readonly start: number; readonly end: number };
  readonly tail?: { readonly start: number; readonly end: number };
}

/** One example to label: its fields, the text spans refer to, the labels it may get, those it has. */
export interface LabelItemView {
  readonly exampleId: number;
  readonly externalId: string | null;
  readonly fields: Readonly<Record<string, string>>;
  readonly text: string;
  /** NER: the words of `text` as spans snap to them, for moving a word cursor with the keyboard. */
  readonly words?: readonly { readonly start: number; readonly end: number }[];
  /** RE: the mentions the example came with (imported entities), which relations may join. */
  readonly entities?: readonly { readonly start: number; readonly end: number; readonly type: string }[];
  readonly choices: readonly string[];
  readonly marks: readonly LabelMarkView[];
}

/** The examples of a dataset to label, and the dataset the labels become train examples of. */
export interface LabelSessionView {
  readonly source: string;
  readonly labelledDataset: string;
  /** Train examples the labelled dataset holds so far. */
  readonly labelled: number;
  readonly items: readonly LabelItemView[];
}

/** An example's marks after a label was added or undone, and the new count of labelled examples. */
export interface LabelChangeView {
  readonly exampleId: number;
  readonly marks: readonly LabelMarkView[];
  readonly labelled: number;
  /** Undo: what was taken back (null when there was nothing to undo). */
  readonly undone?: LabelMarkView | null;
}

const LabelSpan = z.object({ start: z.number().int().nonnegative(), end: z.number().int().nonnegative() });

/** The Task step's choices as they reach main: type, label set and (edited) template. */
export const TaskSetupSchema = z.object({
  type: z.enum(TASK_TYPES),
  labels: z.array(z.string().trim().min(1, 'a label cannot be empty').max(200)).max(1000),
  template: z.string().max(20_000).optional(),
});
export type TaskSetup = z.input<typeof TaskSetupSchema>;

/**
 * Whose suggestions the Label step shows: the last adapted run, the Task step's starting point
 * (the shipped meta-prompt or an imported pack, before any adaptation), or the untrained backbone.
 */
export const SuggestionSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('run'), run: z.string().trim().min(1).max(4096) }),
  z.object({ kind: z.literal('shipped') }),
  z.object({
    kind: z.literal('pack'),
    name: z.string().trim().min(1).max(100),
    version: z.number().int().positive(),
  }),
  z.object({ kind: z.literal('none') }),
]);
export type SuggestionSource = z.input<typeof SuggestionSourceSchema>;

const BackboneFolder = z.string().trim().min(1, 'choose the backbone folder').max(4096);
const DatasetName = z.string().trim().min(1, 'choose a dataset').max(100);

const PackFile = z.string().trim().min(1, 'choose a .cpack file').max(4096);

const Passphrase = z.string().min(1, 'enter the passphrase').max(1024);

const Username = z.string().trim().min(1, 'enter the username').max(64);
const RoleName = z.string().trim().min(1, 'choose a role').max(40);

// ---------------------------------------------------------------------------------------------
// Requests: name -> argument schema (validated in main) and result type (phantom)
// ---------------------------------------------------------------------------------------------

interface RequestSpec<Args extends z.ZodTuple, Result> {
  readonly args: Args;
  /** Never set; carries the result type for the typed proxies. */
  readonly result?: Result;
}

function request<Result>() {
  return <Args extends z.ZodTuple>(args: Args): RequestSpec<Args, Result> => ({ args });
}

const JobId = z.string().regex(/^[a-z0-9-]{1,64}$/, 'a job id');

export const requests = {
  /** Version, data folder and runtime of the main process. */
  'app.getInfo': request<AppInfo>()(z.tuple([])),
  /** Starts long work in a worker; progress arrives as `jobs.onDidProgress` events. */
  'jobs.start': request<JobState>()(z.tuple([JobRequestSchema])),
  /** Asks a running job to stop; resolves once it has stopped. Unknown or finished ids are errors. */
  'jobs.cancel': request<JobState>()(z.tuple([JobId])),
  /** All jobs started since the main process started, newest first. */
  'jobs.list': request<readonly JobState[]>()(z.tuple([])),
  /** Whether a store exists, is locked or unlocked, and for whom. */
  'store.getStatus': request<StoreState>()(z.tuple([])),
  /**
   * First run: creates the encrypted store with the workstation login as its informatics-admin.
   * The key goes to the OS keychain or safeStorage, or to a passphrase when one is given or
   * neither is usable.
   */
  'store.setUp': request<StoreState>()(z.tuple([z.object({ passphrase: Passphrase.optional() })])),
  /** Unlocks with the keychain/safeStorage, or with the passphrase. Wrong passphrase: WRONG_KEY. */
  'store.unlock': request<StoreState>()(z.tuple([z.object({ passphrase: Passphrase.optional() })])),
  /** Closes the database and wipes the key from memory. */
  'store.lock': request<StoreState>()(z.tuple([])),
  /** The person typed or clicked: restarts the auto-lock's idle countdown; `counted` false when locked. */
  'store.noteActivity': request<{ readonly counted: boolean }>()(z.tuple([])),
  /** The store's users with their roles, and the roles there are (informatics administrators only). */
  'users.list': request<{ readonly users: readonly UserView[]; readonly roles: readonly RoleView[] }>()(z.tuple([])),
  /** Adds a user with a role and a first passphrase of their own (audited; informatics administrators only). */
  'users.add': request<UserView>()(
    z.tuple([
      z.object({
        username: Username,
        role: RoleName,
        displayName: z.string().trim().max(200).optional(),
        passphrase: Passphrase,
      }),
    ]),
  ),
  /** Changes a user's role (audited); the last informatics administrator keeps theirs. */
  'users.setRole': request<UserView>()(z.tuple([z.object({ username: Username, role: RoleName })])),
  /** Removes a user's access: disabled, every credential revoked, their audit history kept (audited). */
  'users.remove': request<UserView>()(z.tuple([z.object({ username: Username })])),
  /**
   * The signed-in person's own new passphrase, after their current one (WRONG_KEY when it is not):
   * the store's key is wrapped again for them; the data is untouched (audited, never logged).
   */
  'users.changePassphrase': request<UserView>()(
    z.tuple([z.object({ currentPassphrase: Passphrase, passphrase: Passphrase })]),
  ),
  /**
   * A new first passphrase for another user who forgot theirs (informatics administrators only):
   * the store's key is wrapped again for them; their data is untouched (audited, never logged).
   */
  'users.resetPassphrase': request<UserView>()(z.tuple([z.object({ username: Username, passphrase: Passphrase })])),
  /** The datasets in the store with their counts per split and label. */
  'datasets.list': request<readonly DatasetListing[]>()(z.tuple([])),
  /** Imports files into the store (all or nothing); a malformed file names file and line. */
  'datasets.import': request<DatasetImportResult>()(z.tuple([DatasetImportSchema])),
  /** A file's first records, and the task's fields with the columns guessed for them; needs the import's permission. */
  'imports.preview': request<ImportPreview>()(z.tuple([ImportPreviewSchema])),
  /** Deletes a dataset and its examples (audited); NOT_FOUND if there is none. */
  'datasets.delete': request<{ readonly name: string; readonly examples: number }>()(
    z.tuple([z.object({ name: z.string().trim().min(1).max(100) })]),
  ),
  /** Renames a dataset (audited); NOT_FOUND, or ALREADY_EXISTS when the new name is taken. */
  'datasets.rename': request<{ readonly name: string; readonly newName: string }>()(
    z.tuple([z.object({ name: z.string().trim().min(1).max(100), newName: z.string().trim().min(1).max(100) })]),
  ),
  /** The first examples of a dataset as the backbone sees them (note text: audited as a read). */
  'datasets.preview': request<{ readonly examples: readonly DatasetPreviewRow[] }>()(
    z.tuple([z.object({ name: z.string().trim().min(1).max(100), limit: z.number().int().min(1).max(50) })]),
  ),
  /** The public source tasks and how each is imported. */
  'datasets.catalogue': request<readonly SourceTaskListing[]>()(z.tuple([])),
  /** Packs exported from and imported into the store. */
  'packs.list': request<readonly PackListing[]>()(z.tuple([])),
  /** A pack's manifest and signer, read without the store; BAD_FILE for a damaged pack. */
  'packs.inspect': request<PackInspectionView>()(z.tuple([z.object({ file: PackFile })])),
  /** Intact and signed by a trusted key (ok), or why not. */
  'packs.verify': request<PackVerificationView>()(z.tuple([z.object({ file: PackFile })])),
  /** Packs a run (folder or run id); PHI_SUSPECTED stops it until an admin confirms (confirmPhi). */
  'packs.export': request<PackExportView>()(
    z.tuple([
      z.object({
        source: z.string().trim().min(1, 'choose a run').max(4096),
        out: PackFile,
        name: z.string().trim().min(1).max(100).optional(),
        confirmPhi: z.boolean().optional(),
        /** A PEFT adapter folder without run.json: the backbone it fits and the task it serves. */
        peft: z
          .object({
            backbone: z.string().trim().min(1, 'choose the backbone folder').max(4096),
            task: z.enum(TASK_TYPES),
            labels: z.array(z.string().trim().min(1).max(200)).max(1000).optional(),
          })
          .optional(),
      }),
    ]),
  ),
  /** What exporting a run as a pack would write: name, version, tasks, PHI scan findings and signer. Writes nothing. */
  'packs.preview': request<PackPreviewView>()(
    z.tuple([
      z.object({
        source: z.string().trim().min(1, 'choose a run').max(4096),
        name: z.string().trim().min(1).max(100).optional(),
      }),
    ]),
  ),
  /** Verifies and records a pack for the given backbone; UNTRUSTED unless an admin allows it. */
  'packs.import': request<PackImportView>()(
    z.tuple([
      z.object({
        file: PackFile,
        backbone: z.string().trim().min(1, 'choose the backbone folder').max(4096),
        allowUntrusted: z.boolean().optional(),
      }),
    ]),
  ),
  /** Writes a pack's adapter as a PEFT folder (MPT optionally as PROMPT_TUNING for one task). */
  'packs.peft': request<{ readonly dir: string; readonly peftType: string }>()(
    z.tuple([
      z.object({
        file: PackFile,
        out: z.string().trim().min(1, 'choose a new folder').max(4096),
        promptTuning: z.boolean().optional(),
        taskId: z.number().int().nonnegative().optional(),
      }),
    ]),
  ),
  /** The signing keys: this workstation's own, trusted and removed ones. */
  'packs.keys.list': request<readonly SigningKeyView[]>()(z.tuple([])),
  /** Trusts a public key (admin; audited). */
  'packs.keys.add': request<SigningKeyView>()(
    z.tuple([z.object({ key: z.string().trim().min(1).max(4096), label: z.string().trim().min(1).max(200) })]),
  ),
  /** Stops trusting a key (admin; audited). */
  'packs.keys.remove': request<SigningKeyView>()(
    z.tuple([z.object({ keyId: z.string().regex(/^[0-9a-f]{32}$/, 'a key id from the key list') })]),
  ),
  /** Name, size, provider and memory estimate of a backbone folder (default: the embedded one). */
  'backbone.describe': request<BackboneView>()(z.tuple([z.object({ backbone: BackboneFolder.optional() })])),
  /** The methods and training settings the Adapt step offers for a backbone. */
  'adapt.options': request<AdaptOptionsView>()(z.tuple([z.object({ backbone: BackboneFolder.optional() })])),
  /**
   * Trains a prompt on a store dataset in a worker (a `train` job); the same request again resumes
   * a cancelled run from its checkpoint. The run is recorded in the store when it finishes.
   */
  'adapt.start': request<JobState>()(
    z.tuple([
      z.object({
        backbone: BackboneFolder.optional(),
        dataset: DatasetName,
        method: z.enum(ADAPT_METHODS),
        /** The trainer's settings (peft/config.ts); omitted ones take their defaults. */
        train: z.record(z.string(), z.union([z.number(), z.boolean(), z.string()])).default({}),
        /** The Task step's label set and template, instead of the dataset's own. */
        task: TaskSetupSchema.pick({ labels: true, template: true }).optional(),
        /** MPT from an imported multitask pack instead of the shipped meta-prompt. */
        startPack: z
          .object({ name: z.string().trim().min(1).max(100), version: z.number().int().positive() })
          .optional(),
      }),
    ]),
  ),
  /** Training runs that stopped before their end and can be resumed from their checkpoint (also after a restart). */
  'adapt.interrupted': request<readonly InterruptedRunView[]>()(z.tuple([])),
  /** Resumes an interrupted run (from adapt.interrupted) from its checkpoint, with its own settings (a `train` job). */
  'adapt.resume': request<JobState>()(z.tuple([z.object({ runId: z.number().int().positive() })])),
  /** The task types with their default templates and fields (the Task step). */
  'tasks.types': request<readonly TaskTypeView[]>()(z.tuple([])),
  /** The dataset's first example framed with the task set-up, or the template's problem. */
  'tasks.preview': request<TemplatePreviewView>()(
    z.tuple([TaskSetupSchema.extend({ template: z.string().max(20_000), dataset: DatasetName.optional() })]),
  ),
  /** The unlabelled examples of a dataset to label (choices from the Task step's labels), with their labels so far. */
  'labels.items': request<LabelSessionView>()(
    z.tuple([
      z.object({
        dataset: DatasetName,
        task: TaskSetupSchema,
        limit: z.number().int().positive().max(1000).default(200),
      }),
    ]),
  ),
  /** Saves one label (needs annotations.write); the example becomes a train example of the labelled dataset. */
  'labels.add': request<LabelChangeView>()(
    z.tuple([
      z.object({
        dataset: DatasetName,
        task: TaskSetupSchema,
        exampleId: z.number().int().positive(),
        label: z.string().trim().min(1, 'choose a label').max(200),
        start: z.number().int().nonnegative().optional(),
        end: z.number().int().nonnegative().optional(),
        summary: z.string().max(100_000).optional(),
        /** RE: the relation's two mentions (a relation type as `label`); without them, a mention's span. */
        head: LabelSpan.optional(),
        tail: LabelSpan.optional(),
      }),
    ]),
  ),
  /** RE: reverses a saved relation's direction (head <-> tail); undone like any other label. */
  'labels.reverse': request<LabelChangeView>()(
    z.tuple([
      z.object({
        dataset: DatasetName,
        task: TaskSetupSchema,
        exampleId: z.number().int().positive(),
        markId: z.number().int().positive(),
      }),
    ]),
  ),
  /** Takes back the newest label this person made on the dataset. */
  'labels.undo': request<LabelChangeView>()(z.tuple([z.object({ dataset: DatasetName, task: TaskSetupSchema })])),
  /** The finished adaptation runs in the store, newest first, for the Run and Export steps to choose from. */
  'runs.list': request<readonly RunListing[]>()(z.tuple([])),
  /**
   * The model's suggestions for examples about to be labelled: a `predict` job over them in a
   * worker, with the prompt the wizard has so far. The job's result maps each example id to its answer.
   */
  'labels.suggest': request<JobState>()(
    z.tuple([
      z.object({
        backbone: BackboneFolder.optional(),
        dataset: DatasetName,
        task: TaskSetupSchema,
        exampleIds: z.array(z.number().int().positive()).min(1, 'choose examples to suggest labels for').max(50),
        from: SuggestionSourceSchema,
      }),
    ]),
  ),
  /** Scores a finished run and the untrained backbone on the dataset's test split (an `evaluate` job). */
  'adapt.evaluate': request<JobState>()(
    z.tuple([
      z.object({
        backbone: BackboneFolder.optional(),
        dataset: DatasetName,
        run: z.string().trim().min(1, 'train a prompt first').max(4096),
        /** Other finished runs to score beside it (from runs.list). */
        baselines: z
          .array(z.string().trim().min(1).max(4096))
          .max(MAX_BASELINE_RUNS, `choose at most ${MAX_BASELINE_RUNS} runs to compare`)
          .optional(),
      }),
    ]),
  ),
  /** Runs a trained prompt over a store dataset's notes in a worker (a `predict` job). */
  'notes.run': request<JobState>()(
    z.tuple([
      z.object({
        backbone: BackboneFolder.optional(),
        dataset: DatasetName,
        run: z.string().trim().min(1, 'train a prompt first').max(4096),
      }),
    ]),
  ),
  /** Writes a finished `predict` job's results to a new file (audited, owner-only): JSONL, CSV, or a BRAT folder. */
  'notes.export': request<{ readonly file: string; readonly notes: number; readonly format: ResultFormat }>()(
    z.tuple([
      z.object({
        jobId: JobId,
        format: z.enum(RESULT_FORMATS),
        out: z.string().trim().min(1, 'choose a new file name').max(4096),
      }),
    ]),
  ),
  /** A loss curve drawn by vega-lite, as an SVG document (the page's CSP allows no chart code that evaluates strings). */
  'charts.loss': request<{ readonly svg: string }>()(
    z.tuple([z.object({ losses: z.array(z.number()).max(100_000), totalSteps: z.number().int().nonnegative() })]),
  ),
  /** A dataset's label balance (occurrences per label, stacked by split), drawn by vega-lite. */
  'charts.labelBalance': request<{ readonly svg: string }>()(
    z.tuple([z.object({ name: z.string().trim().min(1).max(100) })]),
  ),
  /** The few-shot curve (headline metric against training examples, one line per method, interval as a band), drawn by vega-lite. */
  'charts.fewShot': request<{ readonly svg: string }>()(
    z.tuple([
      z.object({
        metric: z.string().min(1).max(40),
        points: z
          .array(
            z.object({
              method: z.string().min(1).max(40),
              k: z.number().int().nonnegative(),
              estimate: z.number(),
              low: z.number(),
              high: z.number(),
            }),
          )
          .max(1000),
      }),
    ]),
  ),
  /** The OS file or folder chooser (desktop app only; elsewhere UNSUPPORTED). Null when cancelled. */
  'dialogs.pickPath': request<{ readonly path: string | null }>()(
    z.tuple([z.object({ kind: z.enum(['file', 'folder']) })]),
  ),
} as const;

export type RequestName = keyof typeof requests;
export type RequestArgs<N extends RequestName> = z.input<(typeof requests)[N]['args']>;
export type ParsedRequestArgs<N extends RequestName> = z.output<(typeof requests)[N]['args']>;
export type RequestResult<N extends RequestName> = NonNullable<(typeof requests)[N]['result']>;

export const REQUEST_NAMES = Object.keys(requests) as RequestName[];

export function isRequestName(value: unknown): value is RequestName {
  return typeof value === 'string' && Object.hasOwn(requests, value);
}

// ---------------------------------------------------------------------------------------------
// Events: main -> renderer
// ---------------------------------------------------------------------------------------------

export interface EventPayloads {
  'jobs.onDidProgress': JobProgress;
  'jobs.onDidFinish': JobState;
  /** The store was locked (after inactivity, or on request); the UI shows its unlock screen. */
  'store.onDidLock': { readonly reason: 'inactivity' | 'request' };
}
export type EventName = keyof EventPayloads;
export const EVENT_NAMES: readonly EventName[] = ['jobs.onDidProgress', 'jobs.onDidFinish', 'store.onDidLock'];

/** Something that forwards every main-process event (the shell to its window, the test harness to its page). */
export type EventSink = <E extends EventName>(name: E, payload: EventPayloads[E]) => void;

export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && (EVENT_NAMES as readonly string[]).includes(value);
}

// ---------------------------------------------------------------------------------------------
// What the preload exposes on `window.clinprompt`, and the typed API built on it
// ---------------------------------------------------------------------------------------------

/** Result of a request as it crosses the bridge: errors travel as values, never as thrown text. */
export type Envelope<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: SerializedError };

/** The raw bridge: the only object the preload puts into the page. */
export interface ClinPromptBridge {
  invoke(name: string, args: readonly unknown[]): Promise<Envelope<unknown>>;
  /** Subscribes to an event; returns the unsubscribe function. */
  on(name: string, listener: (payload: unknown) => void): () => void;
}

/** The typed API the renderer programs against. */
export type ClinPromptApi = {
  readonly [N in RequestName]: (...args: RequestArgs<N>) => Promise<RequestResult<N>>;
} & {
  on<E extends EventName>(name: E, listener: (payload: EventPayloads[E]) => void): () => void;
};

/** The main-process side: one handler per request, given validated arguments. */
export type RequestHandlers = {
  readonly [N in RequestName]: (...args: ParsedRequestArgs<N>) => Promise<RequestResult<N>>;
};
