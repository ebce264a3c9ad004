/**
 * A run folder, the file-in/file-out product of `clinprompt train` (a cluster node without the
 * store can make one; the app imports it):
 *
 *   run.json                     what was trained, how, on what, and how it went (RunRecord)
 *   adapter_config.json          PEFT adapter (prompt tuning, LoRA): loads in Python's PEFT
 *   adapter_model.safetensors
 *   model/                       full fine-tuning: a complete Hugging Face model folder instead
 *   checkpoint.json, checkpoint-<step>.safetensors   resumable state (checkpoint.ts)
 *   predictions-<split>.jsonl, eval-<split>.json     written by `clinprompt eval`
 *
 * `--adapter <run dir>` (generate, score, eval) opens it: a PEFT folder applies to the backbone;
 * a full fine-tuning run is a backbone of its own.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { UserError } from '../common/errors.js';
import type { Backbone } from '../backbone/load.js';
import type { PeftAdapter } from './adapter-folder.js';
import { loadPeftAdapter } from './adapter-folder.js';
import { openFullModel } from './full/model.js';
import type { MethodInstance, TensorValues } from './method.js';

export const RUN_FILE = 'run.json';

export interface RunRecord {
  readonly method: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly train: Readonly<Record<string, unknown>>;
  readonly trainableParameters: number;
  /** trainableParameters / the backbone's parameters. */
  readonly trainableShare: number;
  readonly backbone: { readonly name: string; readonly fingerprint: string; readonly parameters: number };
  readonly data: {
    readonly name: string;
    readonly version: string;
    readonly task: unknown;
    readonly train: number;
    readonly dev: number;
  };
  /** Multi-task runs (MPT distillation): each source task, in the order of the task factors. */
  readonly tasks?: readonly {
    readonly name: string;
    readonly train: number;
    /** Mean loss terms (ce, kl, mse) of the task's first and last steps (up to five each). */
    readonly parts: { readonly first: Record<string, number>; readonly last: Record<string, number> };
  }[];
  readonly seed: number;
  readonly provider: string;
  readonly steps: number;
  readonly totalSteps: number;
  readonly resumedFromStep: number;
  readonly stoppedEarly: boolean;
  readonly truncatedExamples: number;
  readonly tokensSeen: number;
  readonly wallSeconds: number;
  readonly firstLoss: number | null;
  readonly lastLoss: number | null;
  readonly losses: readonly number[];
  readonly evaluations: readonly { readonly step: number; readonly value: number }[];
  readonly metrics: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly bestStep: number | null;
}

export function writeRunFolder(dir: string, method: MethodInstance, values: TensorValues, record: RunRecord): void {
  method.save(dir, values);
  const file = path.join(dir, RUN_FILE);
  writeFileSync(`${file}.tmp`, JSON.stringify(record, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

export function readRunRecord(dir: string): RunRecord | undefined {
  const file = path.join(dir, RUN_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
  } catch {
    throw new UserError('BAD_FILE', `${file} is not valid JSON; the run folder is damaged.`);
  }
}

/** Adds metrics (e.g. {test: {accuracy: 0.9}}) to run.json. */
export function addRunMetrics(dir: string, metrics: Readonly<Record<string, Readonly<Record<string, number>>>>): void {
  const record = readRunRecord(dir);
  if (!record) return;
  const file = path.join(dir, RUN_FILE);
  writeFileSync(
    `${file}.tmp`,
    JSON.stringify({ ...record, metrics: { ...record.metrics, ...metrics } }, null, 2) + '\n',
  );
  renameSync(`${file}.tmp`, file);
}

/**
 * What `--adapter <dir>` means for a backbone: the backbone to run (a full fine-tuning run brings
 * its own, refused unless trained from this one) and the adapter to apply to it.
 */
export function openAdapter(
  dir: string,
  backbone: Backbone,
  options: { taskId?: number } = {},
): { backbone: Backbone; adapter?: PeftAdapter } {
  if (!existsSync(dir)) throw new UserError('NOT_FOUND', `${dir} does not exist.`, { field: 'adapter' });
  const record = readRunRecord(dir);
  if (record && record.backbone.fingerprint !== backbone.fingerprint())
    throw new UserError(
      'BACKBONE_MISMATCH',
      `${dir} was trained on ${record.backbone.name} (fingerprint ${record.backbone.fingerprint.slice(0, 12)}), ` +
        `not on ${backbone.sourceDir} (fingerprint ${backbone.fingerprint().slice(0, 12)}). Use the backbone it was trained on.`,
      { field: 'adapter' },
    );
  if (record?.method === 'full') return { backbone: openFullModel(dir) };
  return { backbone, adapter: loadPeftAdapter(dir, backbone.config, options) };
}
