/**
 * Host side of long work: starts one worker per job, relays its progress, cancels it on request,
 * and keeps the state of every job started in this process. The Electron shell gives it a
 * utilityProcess launcher; the CLI and tests give it worker threads.
 */
import { randomUUID } from 'node:crypto';

import { UserError } from '../common/errors.js';
import type { JobProgress, JobRequest, JobState, ParsedJobRequest } from '../ipc/contract.js';
import { JobRequestSchema } from '../ipc/contract.js';
import type { JobInputs, WorkerLauncher, WorkerToHost, WorkerTransport } from './protocol.js';

/** How long a cancelled job may take to stop by itself before its worker is killed. */
const CANCEL_GRACE_MS = 5_000;

export interface JobListeners {
  onDidProgress?(progress: JobProgress): void;
  onDidFinish?(state: JobState): void;
}

interface LiveJob {
  state: JobState;
  readonly worker: WorkerTransport;
  readonly finished: Promise<JobState>;
  /** The user asked it to stop: a worker killed after the grace period was cancelled, not crashed. */
  cancelRequested: boolean;
}

export class JobManager {
  readonly #jobs = new Map<string, LiveJob>();
  readonly #listeners = new Set<JobListeners>();

  constructor(private readonly launch: WorkerLauncher) {}

  /** Subscribes to progress and completion of every job; returns the unsubscribe function. */
  subscribe(listeners: JobListeners): () => void {
    this.#listeners.add(listeners);
    return () => this.#listeners.delete(listeners);
  }

  start(request: JobRequest, inputs: JobInputs = {}): JobState {
    const parsed: ParsedJobRequest = JobRequestSchema.parse(request);
    const jobId = randomUUID();
    const worker = this.launch();
    let state: JobState = { jobId, kind: parsed.kind, status: 'running', startedAt: new Date().toISOString() };
    let settle!: (s: JobState) => void;
    const finished = new Promise<JobState>((resolve) => (settle = resolve));
    const job: LiveJob = { state, worker, finished, cancelRequested: false };
    this.#jobs.set(jobId, job);

    const finish = (patch: Partial<JobState>): void => {
      if (job.state.status !== 'running') return;
      state = { ...job.state, ...patch, finishedAt: new Date().toISOString() };
      job.state = state;
      for (const l of this.#listeners) l.onDidFinish?.(state);
      settle(state);
    };
    worker.onMessage((message: WorkerToHost) => {
      switch (message.type) {
        case 'progress':
          job.state = { ...job.state, progress: message.progress };
          for (const l of this.#listeners) l.onDidProgress?.(message.progress);
          break;
        case 'succeeded':
          finish({ status: 'succeeded', result: message.result });
          break;
        case 'failed':
          finish({ status: message.error.code === 'CANCELLED' ? 'cancelled' : 'failed', error: message.error });
          break;
      }
    });
    worker.onExit((code) =>
      finish(
        job.cancelRequested
          ? {
              status: 'cancelled',
              error: {
                code: 'CANCELLED',
                message: 'Cancelled. Finished steps and checkpoints are kept; start it again to resume.',
              },
            }
          : {
              status: 'failed',
              error: {
                code: 'WORKER_FAILED',
                message: `The worker stopped unexpectedly (exit code ${code}). Nothing was saved from this run; start it again.`,
              },
            },
      ),
    );
    worker.post({ type: 'start', jobId, request: parsed, inputs });
    return job.state;
  }

  /** Asks a job to stop and waits until it has; kills the worker if it does not stop in time. */
  async cancel(jobId: string): Promise<JobState> {
    const job = this.#require(jobId);
    if (job.state.status !== 'running') {
      throw new UserError(
        'INVALID_ARGUMENT',
        `Job ${jobId} has already ${job.state.status}; there is nothing to cancel.`,
      );
    }
    job.cancelRequested = true;
    job.worker.post({ type: 'cancel' });
    const timer = setTimeout(() => job.worker.kill(), CANCEL_GRACE_MS);
    try {
      return await job.finished;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves when the job has finished, whichever way. */
  wait(jobId: string): Promise<JobState> {
    return this.#require(jobId).finished;
  }

  get(jobId: string): JobState {
    return this.#require(jobId).state;
  }

  list(): JobState[] {
    return [...this.#jobs.values()].map((j) => j.state).reverse();
  }

  /** Cancels every running job (app quit, CLI interrupted). */
  async shutdown(): Promise<void> {
    const running = [...this.#jobs.values()].filter((j) => j.state.status === 'running');
    await Promise.all(running.map((j) => this.cancel(j.state.jobId)));
  }

  #require(jobId: string): LiveJob {
    const job = this.#jobs.get(jobId);
    if (!job) throw new UserError('NOT_FOUND', `No job with id ${jobId}. List jobs to see the ids that exist.`);
    return job;
  }
}
