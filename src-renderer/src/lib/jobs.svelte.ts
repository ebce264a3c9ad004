/**
 * Reactive view of the jobs the main process runs. Progress and completion events from the
 * contract become `$state` here, in one place, so that components simply read them.
 */
import type { ClinPromptApi, JobProgress, JobRequest, JobState } from '../../../src-main/ipc/contract.js';

export class JobsState {
  #api: ClinPromptApi;
  /** Latest state per job id; progress events update the `progress` field. */
  byId = $state<Record<string, JobState>>({});

  constructor(api: ClinPromptApi) {
    this.#api = api;
    api.on('jobs.onDidProgress', (p: JobProgress) => {
      const job = this.byId[p.jobId];
      if (job && job.status === 'running') this.byId[p.jobId] = { ...job, progress: p };
    });
    api.on('jobs.onDidFinish', (s: JobState) => {
      this.byId[s.jobId] = s;
    });
  }

  async start(request: JobRequest): Promise<string> {
    const state = await this.#api['jobs.start'](request);
    // A fast job may have finished (and sent its event) before this reply arrived.
    this.byId[state.jobId] ??= state;
    return state.jobId;
  }

  async cancel(jobId: string): Promise<void> {
    const state = await this.#api['jobs.cancel'](jobId);
    this.byId[jobId] = state;
  }
}
