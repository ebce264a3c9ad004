/**
 * The names every layer shares, declared once: task types, splits, import formats (and which of
 * them read a folder or take a mapping), execution providers, job and run statuses. The store, the tasks and importers,
 * the IPC contract (and through it the renderer) and the CLI all import these lists, so adding a
 * task type or a format is one edit here plus the code that handles it, which the type checker
 * then asks for. Imports nothing: the renderer bundles it.
 */

export const TASK_TYPES = ['ner', 're', 'qa', 'nli', 'summarization'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export function isTaskType(value: string): value is TaskType {
  return (TASK_TYPES as readonly string[]).includes(value);
}

/** Where an example belongs. */
export const SPLITS = ['train', 'dev', 'test'] as const;
export type Split = (typeof SPLITS)[number];

export function isSplit(value: string): value is Split {
  return (SPLITS as readonly string[]).includes(value);
}

/** The file formats `import` reads (one importer each in data/importers). */
export const IMPORT_FORMATS = ['conll', 'brat', 'bioc', 'pubtator', 'jsonl', 'csv', 'notes'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export function isImportFormat(value: string): value is ImportFormat {
  return (IMPORT_FORMATS as readonly string[]).includes(value);
}

/** Formats whose source is a folder (BRAT's .txt/.ann pairs, a folder of notes) rather than one file. */
export const FOLDER_IMPORT_FORMATS: readonly ImportFormat[] = ['brat', 'notes'];
/** Formats whose fields are named by a mapping (`--mapping`, "Field mapping"). */
export const MAPPED_IMPORT_FORMATS: readonly ImportFormat[] = ['jsonl', 'csv'];

/** Where the engine computes: onnxruntime's execution providers. */
export const EXECUTION_PROVIDERS = ['cpu', 'webgpu', 'cuda', 'dml'] as const;
export type ExecutionProviderName = (typeof EXECUTION_PROVIDERS)[number];
/** A provider to run on, or `auto`: the best this machine has. */
export const PROVIDER_CHOICES = ['cpu', 'auto', 'webgpu', 'cuda', 'dml'] as const;
export type ProviderChoice = (typeof PROVIDER_CHOICES)[number];

/** How long work (a worker job) stands: running, then one of the three ends. */
export const JOB_STATUSES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** A stored training or evaluation run records the job that did it, so it has the job's statuses. */
export const RUN_STATUSES = JOB_STATUSES;
export type RunStatus = JobStatus;

/** The entity type of a mention marked in the Label step for RE (the Task step's labels there are relation types). */
export const RE_MENTION = 'mention';
