import { deserializeError } from '../common/errors.js';
import type { JobRequest, JobState } from '../ipc/contract.js';
import type { JobManager } from '../jobs/job-manager.js';
import type { Output } from './output.js';

/**
 * Runs one job in a worker and shows its progress. Ctrl+C cancels the job cleanly (the job stops at
 * its next step and keeps what it had saved) instead of killing the process mid-write.
 */
export async function runJobInForeground(jobs: JobManager, request: JobRequest, out: Output): Promise<JobState> {
  const unsubscribe = jobs.subscribe({ onDidProgress: (p) => out.progress(p) });
  const job = jobs.start(request);
  const onInterrupt = () => {
    out.note('Cancelling… (press Ctrl+C again to force)');
    process.off('SIGINT', onInterrupt);
    void jobs.cancel(job.jobId).catch(() => undefined);
  };
  process.on('SIGINT', onInterrupt);
  try {
    const state = await jobs.wait(job.jobId);
    if (state.status !== 'succeeded' && state.error) throw deserializeError(state.error);
    return state;
  } finally {
    process.off('SIGINT', onInterrupt);
    unsubscribe();
  }
}
