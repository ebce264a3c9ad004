/**
 * Resumption in a real process: the built `clinprompt` (bin/clinprompt.js, which runs dist/)
 * started as a child, waited on until its run folder holds a checkpoint of a given step (then a
 * test kills or interrupts it), and the tensors of run folders, to compare a resumed run with an
 * unbroken one.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

import { expect } from 'vitest';

import { SafetensorsWeights } from '../../src-main/backbone/hf/safetensors.js';
import { checkpointStep } from '../../src-main/peft/checkpoint.js';
import { REPO_ROOT } from './paths.js';

/** The step of the checkpoint in a run folder; 0 without a readable one. */
export const checkpointStepOf = (runDir: string): number => checkpointStep(runDir) ?? 0;

/** Starts `clinprompt <argv>` and resolves once `runDir`'s checkpoint is at step `atLeast` or later. */
export async function startUntilCheckpoint(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  runDir: string,
  atLeast: number,
) {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'clinprompt.js'), ...argv], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit');
  while (checkpointStepOf(runDir) < atLeast) {
    if (child.exitCode !== null) throw new Error(`training exited early: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, exited, stderr: () => stderr };
}

/** A .safetensors file's tensors by name: shape and float32 values. */
export const tensorsOf = (file: string) => {
  const w = new SafetensorsWeights([file]);
  return new Map([...w.tensors].map(([name, e]) => [name, { shape: e.shape, data: w.readFloat32(name) }]));
};

/** The two files hold the same tensors, value for value. */
export function expectSameTensors(actualFile: string, expectedFile: string): void {
  const actual = tensorsOf(actualFile);
  const expected = tensorsOf(expectedFile);
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [name, t] of expected) expect([...actual.get(name)!.data], name).toEqual([...t.data]);
}
