/**
 * Training runs that stopped before their end and can go on from their checkpoint: cancelled,
 * failed, or still marked running in the store because the app closed (or was killed) while they
 * trained. Each run folder's newest record decides: a folder trained again after a stop shows once,
 * and a record whose job runs in this process is not interrupted.
 */
import { isTaskType, type InterruptedRunView } from '../ipc/contract.js';
import { checkpointStep } from '../peft/checkpoint.js';
import type { StoreSession } from '../store/session.js';
import type { Run } from '../store/repositories/runs.js';
import type { Store } from '../store/store.js';

/** What a stopped run needs to start again, as its record in the store holds it. */
export interface StoppedRun {
  readonly run: Run;
  readonly view: InterruptedRunView;
}

export function listInterruptedRuns(store: Store, session: StoreSession, live: ReadonlySet<number>): StoppedRun[] {
  session.require('runs.read', 'list training runs');
  const seen = new Set<string>();
  const out: StoppedRun[] = [];
  for (const run of store.runs.list()) {
    const { outDir, backbone, task, train } = run.config as {
      outDir?: unknown;
      backbone?: unknown;
      task?: { type?: unknown };
      train?: { steps?: unknown };
    };
    if (!run.kind.startsWith('train:') || typeof outDir !== 'string' || seen.has(outDir)) continue;
    seen.add(outDir); // newest first: older records of the same folder are history
    if (run.status === 'succeeded' || live.has(run.id)) continue;
    // only wizard runs record their backbone folder and task set-up, which a resume needs
    const type = task?.type;
    if (typeof backbone !== 'string' || typeof type !== 'string' || !isTaskType(type) || run.datasetIds.length !== 1)
      continue;
    const step = checkpointStep(outDir);
    const totalSteps = typeof train?.steps === 'number' ? train.steps : null;
    if (step === undefined || (totalSteps !== null && step >= totalSteps)) continue;
    const dataset = store.datasets.list().find((d) => d.id === run.datasetIds[0]);
    if (!dataset) continue; // its dataset was deleted: nothing left to train on
    out.push({
      run,
      view: {
        runId: run.id,
        method: run.kind.slice('train:'.length),
        task: type,
        dataset: dataset.name,
        startedAt: run.startedAt,
        step,
        totalSteps,
        backbone,
      },
    });
  }
  return out;
}
