import { afterEach, describe, expect, it } from 'vitest';

import type { JobProgress, SystemCheckResult } from '../../../src-main/ipc/contract.js';
import { JobManager } from '../../../src-main/jobs/job-manager.js';
import { launchThreadWorker } from '../../../src-main/jobs/thread-transport.js';

// Real worker threads running the real worker entry (from source, through tsx).
describe('JobManager with worker threads', () => {
  let manager: JobManager;
  afterEach(async () => manager.shutdown());

  it('runs a job in a worker and streams its progress', async () => {
    manager = new JobManager(() => launchThreadWorker());
    const progress: JobProgress[] = [];
    manager.subscribe({ onDidProgress: (p) => progress.push(p) });
    const started = manager.start({ kind: 'system-check' });
    expect(started.status).toBe('running');

    const done = await manager.wait(started.jobId);
    expect(done.status).toBe('succeeded');
    const result = done.result as SystemCheckResult;
    expect(result.checks.map((c) => c.name)).toEqual([
      'Node.js runtime',
      'onnxruntime',
      'Encrypted SQLite (SQLCipher)',
    ]);
    expect(result.checks.every((c) => c.ok)).toBe(true);
    expect(progress.map((p) => p.step)).toEqual([0, 1, 2, 3]);
    expect(progress.at(-1)).toMatchObject({ jobId: started.jobId, totalSteps: 3 });
    expect(manager.list()[0]?.status).toBe('succeeded');
  });

  it('cancels a running job and reports it as cancelled, not failed', async () => {
    manager = new JobManager(() => launchThreadWorker());
    const firstStep = new Promise<void>((resolve) => manager.subscribe({ onDidProgress: () => resolve() }));
    const started = manager.start({ kind: 'system-check', pauseMs: 5_000 });
    await firstStep;
    const state = await manager.cancel(started.jobId);
    expect(state.status).toBe('cancelled');
    expect(state.error?.code).toBe('CANCELLED');
    await expect(manager.cancel(started.jobId)).rejects.toThrow(/already cancelled/);
  });

  it('reports a worker that dies as a failed job with a clear message', async () => {
    manager = new JobManager(() =>
      launchThreadWorker(new URL('../../support/fixtures/crashing-worker.mjs', import.meta.url)),
    );
    const started = manager.start({ kind: 'system-check' });
    const done = await manager.wait(started.jobId);
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ code: 'WORKER_FAILED', message: expect.stringMatching(/exit code 3/) });
  });

  it('a job that ignores its cancel is stopped after the grace period and reported as cancelled', async () => {
    manager = new JobManager(() =>
      launchThreadWorker(new URL('../../support/fixtures/stubborn-worker.mjs', import.meta.url)),
    );
    const started = manager.start({ kind: 'system-check' });
    const state = await manager.cancel(started.jobId);
    expect(state.status).toBe('cancelled');
    expect(state.error?.code).toBe('CANCELLED');
  });

  it('rejects unknown job ids', async () => {
    manager = new JobManager(() => launchThreadWorker());
    expect(() => manager.get('nope')).toThrow(/No job with id nope/);
  });
});
