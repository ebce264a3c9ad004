import { deserializeError } from '../common/errors.js';
import type { JobRequest, JobState } from '../ipc/contract.js';
import type { JobManager } from '../jobs/job-manager.js';
import type { Output } from './output.js';

/**
 * Runs work that takes an AbortSignal with Ctrl+C wired to it: the first Ctrl+C aborts the work,
 * which stops cleanly and keeps nothing half-done (e.g. an import rolls back); a second one kills.
 */
export async function withInterruptSignal<T>(out: Output, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onInterrupt = () => {
    out.note('Cancelling… (press Ctrl+C again to force)');
    process.off('SIGINT', onInterrupt);
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/**
 * Runs one job in a worker and shows its progress. Ctrl+C cancels the job cleanly (the job stops at
 * its next step and keeps what it had saved) instead of killing the process mid-write.
 */
export async function runJobInForeground(jobs: JobManager, request: JobRequest, out: Output): Promise<JobState> {
  const unsubscribe = jobs.subscribe({ onDidProgress: (p) => out.progress(p) });
  const job = jobs.start(request);
  try {
    return await withInterruptSignal(out, async (signal) => {
      signal.addEventListener('abort', () => void jobs.cancel(job.jobId).catch(() => undefined));
      const state = await jobs.wait(job.jobId);
      if (state.status !== 'succeeded' && state.error) throw deserializeError(state.error);
      return state;
    });
  } finally {
    unsubscribe();
  }
}
