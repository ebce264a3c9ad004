/**
 * Resumable training state in a run folder: the trainable tensors, AdamW's moments, the best
 * tensors so far (when evaluating), and a small JSON with the step, the loss scale, the loss and
 * metric history and a fingerprint of everything that determines the run. Data position and
 * randomness need no state of their own: both are functions of (seed, step) (batches.ts).
 *
 * Written atomically: tensors go to a new `checkpoint-<step>.safetensors` (temp name, then
 * rename), then `checkpoint.json` naming it is replaced the same way, then older tensor files are
 * removed. A kill at any moment leaves the previous or the new checkpoint, never half of one.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { UserError } from '../common/errors.js';
import { SafetensorsWeights } from '../backbone/hf/safetensors.js';
import { writeSafetensorsFile } from '../backbone/hf/safetensors-writer.js';

export const CHECKPOINT_FILE = 'checkpoint.json';
const TENSORS = /^checkpoint-(\d+)\.safetensors$/;

export interface CheckpointState {
  /** Fingerprint of the method, settings, data and backbone: a resume must match it. */
  readonly runKey: string;
  readonly step: number;
  readonly lossScale: number;
  readonly lossScaleGoodSteps: number;
  readonly losses: readonly number[];
  readonly evaluations: readonly { step: number; value: number }[];
  readonly best: { step: number; value: number } | null;
  readonly evaluationsWithoutGain: number;
  readonly tokensSeen: number;
  readonly seconds: number;
  /** Multi-task runs: per task, the loss terms of each step that trained it. */
  readonly taskParts: Readonly<Record<string, readonly { step: number; parts: Readonly<Record<string, number>> }[]>>;
}

export interface Checkpoint {
  readonly state: CheckpointState;
  /** Tensors by group: value/<name>, m/<name>, v/<name>, best/<name>. */
  readonly tensors: ReadonlyMap<string, Float32Array>;
}

export function writeCheckpoint(
  dir: string,
  state: CheckpointState,
  tensors: readonly { name: string; shape: readonly number[]; data: Float32Array }[],
): void {
  const name = `checkpoint-${state.step}.safetensors`;
  const file = path.join(dir, name);
  writeSafetensorsFile(
    `${file}.tmp`,
    tensors.map((t) => ({ ...t, shape: [...t.shape] })),
    'F32',
    { format: 'pt' },
  );
  renameSync(`${file}.tmp`, file);
  const json = path.join(dir, CHECKPOINT_FILE);
  writeFileSync(`${json}.tmp`, JSON.stringify({ ...state, tensors: name }, null, 1));
  renameSync(`${json}.tmp`, json);
  for (const f of readdirSync(dir)) if (TENSORS.test(f) && f !== name) rmSync(path.join(dir, f), { force: true });
}

export function readCheckpoint(dir: string): Checkpoint | undefined {
  const json = path.join(dir, CHECKPOINT_FILE);
  if (!existsSync(json)) return undefined;
  let parsed: CheckpointState & { tensors: string };
  try {
    parsed = JSON.parse(readFileSync(json, 'utf8')) as CheckpointState & { tensors: string };
  } catch {
    throw new UserError(
      'BAD_FILE',
      `${json} is damaged; delete the run folder (or choose another one) to start over.`,
      { field: 'out' },
    );
  }
  const weights = new SafetensorsWeights([path.join(dir, parsed.tensors)]);
  const tensors = new Map([...weights.tensors.keys()].map((n) => [n, weights.readFloat32(n)]));
  const { tensors: _file, ...state } = parsed;
  return { state, tensors };
}

/** The step a run folder's checkpoint holds, without reading its tensors; undefined without a readable one. */
export function checkpointStep(dir: string): number | undefined {
  try {
    const { step } = JSON.parse(readFileSync(path.join(dir, CHECKPOINT_FILE), 'utf8')) as { step?: unknown };
    return typeof step === 'number' ? step : undefined;
  } catch {
    return undefined; // no checkpoint, or a damaged one: nothing to resume from
  }
}

/** Removes the checkpoint once the run has finished (its results are written elsewhere). */
export function removeCheckpoint(dir: string): void {
  for (const f of readdirSync(dir))
    if (TENSORS.test(f) || f === CHECKPOINT_FILE || f.endsWith('.tmp')) rmSync(path.join(dir, f), { force: true });
}
