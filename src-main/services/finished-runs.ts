/**
 * The finished adaptation runs a person can pick up again after a restart: the store's records of
 * succeeded training runs, joined with what each run folder's run.json says (task, metric,
 * backbone). Runs whose folder is gone, and distillation runs (several tasks, a meta-prompt rather
 * than a task's prompt), are left out.
 */
import { isTaskType, type RunListing } from '../ipc/contract.js';
import { isMethodName, METHODS } from '../peft/methods.js';
import { readRunRecord, type RunRecord } from '../peft/run-folder.js';
import type { StoreSession } from '../store/session.js';
import type { Store } from '../store/store.js';

export function listFinishedRuns(store: Store, session: StoreSession): RunListing[] {
  session.require('runs.read', 'list training runs');
  const listings: RunListing[] = [];
  for (const run of store.runs.list()) {
    if (!run.kind.startsWith('train:') || run.status !== 'succeeded') continue;
    const outDir = run.config['outDir'];
    if (typeof outDir !== 'string') continue;
    let record: RunRecord | undefined;
    try {
      record = readRunRecord(outDir);
    } catch {
      continue; // a damaged run.json: the run cannot be used again, so it is not offered
    }
    const task = (record?.data.task as { type?: unknown } | undefined)?.type;
    if (!record || typeof task !== 'string' || !isTaskType(task)) continue;
    const folder = run.config['backbone'];
    listings.push({
      runId: run.id,
      outDir,
      method: record.method,
      methodTitle: isMethodName(record.method) ? METHODS[record.method].title : record.method,
      task,
      dataset: record.data.name,
      trainExamples: record.data.train,
      finishedAt: run.finishedAt ?? run.startedAt,
      startedBy: run.startedBy,
      steps: record.steps,
      backbone: { name: record.backbone.name, folder: typeof folder === 'string' ? folder : null },
      metric: lastMetric(record),
    });
  }
  return listings;
}

/** The test split's headline metric when the run was evaluated, else the dev split's from training. */
function lastMetric(record: RunRecord): RunListing['metric'] {
  for (const split of ['test', 'dev']) {
    const metrics = record.metrics[split];
    if (!metrics) continue;
    // the headline as tasks/evaluate.ts picks it: ROUGE-L for summaries, else the first listed
    const name = 'rougeL' in metrics ? 'rougeL' : Object.keys(metrics)[0];
    if (name !== undefined) return { name, split, value: metrics[name]! };
  }
  return null;
}
