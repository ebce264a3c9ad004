/**
 * The Run step's requests: run a trained prompt over a store dataset's notes in a worker (a
 * `predict` job; the host reads the notes, audited, and hands them over in memory), and write a
 * finished run's results out (services/note-results.ts). The results stay in the job's state in
 * the main process: the renderer names the job, never sends note text back.
 */
import { backboneOrDefault } from '../backbone/embedded.js';
import { UserError } from '../common/errors.js';
import type { NoteRunView, RequestHandlers } from '../ipc/contract.js';
import type { JobManager } from '../jobs/job-manager.js';
import { exportNoteRun } from './note-results.js';
import type { StoreService } from './store-service.js';
import { readStoreData, type DataUse } from './training.js';

const RUN_READ: DataUse = { permission: 'prompts.run', action: 'notes.run-read', purpose: 'run a prompt over notes' };

export function noteRunHandlers(
  store: StoreService,
  jobs: JobManager,
): Pick<RequestHandlers, 'notes.run' | 'notes.export'> {
  return {
    'notes.run': async ({ backbone, dataset, run }) => {
      const data = await store.use((s, session) => readStoreData({ store: s, session }, dataset, RUN_READ));
      if (data.examples.length === 0)
        throw new UserError('NOT_FOUND', `"${data.name}" holds no notes to run the prompt over.`, { field: 'dataset' });
      return jobs.start(
        { kind: 'predict', backbone: backboneOrDefault(backbone), data: data.name, task: data.task.type, run },
        { data },
      );
    },
    'notes.export': async ({ jobId, format, out }) => {
      const job = jobs.get(jobId);
      if (job.kind !== 'predict' || job.status !== 'succeeded')
        throw new UserError(
          'INVALID_ARGUMENT',
          'There are no results to export yet: run the prompt over the notes first.',
          {
            field: 'jobId',
          },
        );
      return store.use((s, session) => exportNoteRun(s, session, job.result as NoteRunView, { format, out }));
    },
  };
}
