/**
 * Training as the app runs it: a `train` job in a real worker thread behind the JobManager, with
 * progress (step, loss, tokens/s, ETA), cancel at a clean point keeping the checkpoint, and the
 * same request resuming to completion.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import type { JobProgress } from '../../../src-main/ipc/contract.js';
import { JobManager } from '../../../src-main/jobs/job-manager.js';
import { launchThreadWorker } from '../../../src-main/jobs/thread-transport.js';
import type { TrainSummary } from '../../../src-main/services/training.js';
import { writeLearnableNli } from '../../support/learnable-task.js';
import { makeTempDir } from '../../support/temp.js';
import { writeTinyLlamaFolder } from '../../support/tiny-llama.js';

const tmp = makeTempDir('clinprompt-train-job-');
afterAll(() => tmp.cleanup());
const backbone = path.join(tmp.dir, 'tiny');
writeTinyLlamaFolder(backbone);
const data = writeLearnableNli(path.join(tmp.dir, 'nli.jsonl'), { train: 24, dev: 0, test: 0 });
const request = {
  kind: 'train',
  backbone,
  data,
  task: 'nli',
  out: path.join(tmp.dir, 'run'),
  method: 'lora',
  settings: { rank: 2 },
  train: { steps: 60, batchSize: 2, checkpointEvery: 5 },
} as const;

describe('the train job', () => {
  let manager: JobManager;
  afterEach(async () => manager.shutdown());

  it('reports progress, cancels keeping its checkpoint, and the same request resumes to the end', async () => {
    manager = new JobManager(() => launchThreadWorker());
    const progress: JobProgress[] = [];
    let resolveStep: () => void;
    const reachedStep = new Promise<void>((resolve) => (resolveStep = resolve));
    manager.subscribe({
      onDidProgress: (p) => {
        progress.push(p);
        if (p.step >= 7) resolveStep();
      },
    });
    const first = manager.start(request);
    await reachedStep;
    const cancelled = await manager.cancel(first.jobId);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.error?.message).toMatch(/Run the same command again to resume/);
    const checkpoint = JSON.parse(readFileSync(path.join(request.out, 'checkpoint.json'), 'utf8')) as { step: number };
    expect(checkpoint.step).toBeGreaterThanOrEqual(7);
    const trainReport = progress.find((p) => p.loss !== undefined && p.etaSeconds !== undefined)!;
    expect(trainReport).toMatchObject({ kind: 'train', totalSteps: 60 });
    expect(trainReport.tokensPerSecond).toBeGreaterThan(0);

    const second = manager.start(request);
    const done = await manager.wait(second.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    const summary = done.result as TrainSummary;
    expect(summary.resumedFromStep).toBe(checkpoint.step);
    expect(summary.steps).toBe(60);
    expect(existsSync(path.join(request.out, 'adapter_model.safetensors'))).toBe(true);
  });
});
