/**
 * `clinprompt distill` (MPT stage 2) resumes in a real process, on the real stories260K model: two
 * prompt-tuning teachers trained with `clinprompt train`, a distillation SIGKILLed mid-run and
 * started again with the same command resumes at its checkpoint's step (not step 0), finishes, and
 * ends with the same meta-prompt tensors and loss history as an unbroken run of the same command.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXIT } from '../../../src-main/cli/exit-codes.js';
import { readRunRecord } from '../../../src-main/peft/run-folder.js';
import { runCliCaptured } from '../../support/cli.js';
import { writeLearnableNli, type NliVariant } from '../../support/learnable-task.js';
import { checkpointStepOf, expectSameTensors, startUntilCheckpoint } from '../../support/resume.js';
import { makeTempDir } from '../../support/temp.js';
import { STORIES_DIR } from '../../support/tiny-llama.js';

const tmp = makeTempDir('clinprompt-distill-cli-');
afterAll(() => tmp.cleanup());
const env = { CLINPROMPT_HOME: path.join(tmp.dir, 'home'), CLINPROMPT_MODEL_CACHE: path.join(tmp.dir, 'cache') };
const dir = (name: string) => path.join(tmp.dir, name);
const SOURCES: NliVariant[] = ['saw', 'had'];
const STEPS = 40;

beforeAll(async () => {
  for (const [i, v] of SOURCES.entries()) {
    writeLearnableNli(dir(`${v}.jsonl`), { train: 16, dev: 0, test: 0 }, 30 + i, v);
    const teacher = await runCliCaptured(
      [
        ...['--json', 'train', '--method', 'pt', '--backbone', STORIES_DIR, '--data', dir(`${v}.jsonl`)],
        ...['--task', 'nli', '--out', dir(`teacher-${v}`), '--prompt-length', '2', '--steps', '4', '--lr', '0.3'],
      ],
      env,
    );
    expect(teacher.code, teacher.stderr).toBe(EXIT.ok);
  }
});

const distill = (out: string) => [
  ...['--json', 'distill', '--backbone', STORIES_DIR, '--out', dir(out)],
  ...['--teachers', ...SOURCES.map((v) => dir(`teacher-${v}`))],
  ...['--data', ...SOURCES.map((v) => dir(`${v}.jsonl`))],
  ...['--task', ...SOURCES.map(() => 'nli')],
  ...['--steps', String(STEPS), '--checkpoint-every', '1', '--batch-size', '4', '--lr', '0.3', '--seed', '7'],
];

describe('resumable distillation in a real process', () => {
  it('a distillation killed with SIGKILL resumes at its checkpoint and ends with the same meta-prompt as an unbroken one', async () => {
    const unbroken = await runCliCaptured(distill('unbroken'), env);
    expect(unbroken.code, unbroken.stderr).toBe(EXIT.ok);

    const { child, exited } = await startUntilCheckpoint(distill('killed'), env, dir('killed'), 10);
    child.kill('SIGKILL');
    await exited;
    const killedAt = checkpointStepOf(dir('killed'));
    expect(killedAt).toBeGreaterThanOrEqual(10);
    expect(killedAt).toBeLessThan(STEPS);
    expect(existsSync(path.join(dir('killed'), 'run.json'))).toBe(false); // killed before its end

    const resumed = await runCliCaptured(distill('killed'), env);
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ steps: STEPS, resumedFromStep: killedAt });
    const record = readRunRecord(dir('killed'))!;
    const reference = readRunRecord(dir('unbroken'))!;
    expect(record).toMatchObject({ steps: STEPS, totalSteps: STEPS, resumedFromStep: killedAt });
    expect(reference.resumedFromStep).toBe(0);
    // the steps before the kill come from the checkpoint: the whole history matches the unbroken run's
    expect(record.losses).toEqual(reference.losses);
    expect(record.tasks).toEqual(reference.tasks);

    const weights = (out: string) => path.join(dir(out), 'adapter_model.safetensors');
    expectSameTensors(weights('killed'), weights('unbroken'));
    expect(readFileSync(weights('killed')).equals(readFileSync(weights('unbroken')))).toBe(true);
  });
});
