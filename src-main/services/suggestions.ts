/**
 * The Label step's suggestions: the examples about to be labelled run through the one inference
 * path (a `predict` job in a worker, as the Run step's) with the prompt the wizard has so far: the
 * last adapted run, the Task step's starting meta-prompt (shipped or from an imported pack) as
 * stage 3 starts it, or the untrained backbone. The host reads the examples (audited) and hands
 * them over in memory, each under its example id, so that the job's answers map back to them.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { backboneOrDefault, SHIPPED_META_PROMPT } from '../backbone/embedded.js';
import { UserError } from '../common/errors.js';
import type { JobState, RequestHandlers, SuggestionSource, TaskSetup } from '../ipc/contract.js';
import type { JobManager } from '../jobs/job-manager.js';
import type { StoreSession } from '../store/session.js';
import type { Store } from '../store/store.js';
import { templateFor } from '../tasks/registry.js';
import { plainExample } from './datasets.js';
import { checkTask } from './labelling.js';
import { packAsMetaPrompt } from './packs.js';
import type { StoreService } from './store-service.js';
import type { TaskData } from './training.js';

/** The examples to suggest labels for, as a job's in-memory data: unlabelled, keyed by example id. */
export function suggestionData(
  store: Store,
  session: StoreSession,
  request: { dataset: string; task: TaskSetup; exampleIds: readonly number[] },
): TaskData {
  session.require('notes.read', 'suggest labels for notes');
  const source = store.datasets.get(request.dataset);
  checkTask(source, request.task.type);
  const { type, labels, template } = request.task;
  const task = { type, labels, ...(template !== undefined && template.trim() !== '' && { template }) };
  templateFor(task); // a broken template is refused before a worker starts
  const examples = request.exampleIds.map((id) => ({
    ...plainExample(store.datasets.example(source.id, id)),
    externalId: String(id),
    target: null,
    labels: [],
  }));
  session.record('notes.read', 'labels.suggest-read', {
    objectType: 'dataset',
    objectIds: [source.id],
    details: { examples: examples.length },
  });
  return { name: source.name, version: `suggest:${source.id}`, task, examples };
}

/** The prompt folders a suggestion source names: a run, a meta-prompt, or neither (the untrained backbone). */
function promptFolders(
  from: SuggestionSource,
  backbone: string,
  pack: (p: { name: string; version: number }) => Promise<string>,
): Promise<{ run?: string; meta?: string }> | { run?: string; meta?: string } {
  if (from.kind === 'run') return { run: from.run };
  if (from.kind === 'pack') return pack(from).then((meta) => ({ meta }));
  if (from.kind === 'none') return {};
  const meta = path.join(backbone, SHIPPED_META_PROMPT);
  if (!existsSync(meta))
    throw new UserError(
      'NOT_FOUND',
      `The backbone ${path.basename(backbone)} has no shipped meta-prompt to suggest labels with: adapt a prompt first, or suggest with the untrained backbone.`,
      { field: 'from' },
    );
  return { meta };
}

export function suggestionHandlers(
  store: StoreService,
  jobs: JobManager,
  dataDir: string,
): Pick<RequestHandlers, 'labels.suggest'> {
  return {
    'labels.suggest': async ({ backbone, dataset, task, exampleIds, from }): Promise<JobState> => {
      const data = await store.use((s, session) => suggestionData(s, session, { dataset, task, exampleIds }));
      const folder = backboneOrDefault(backbone);
      const prompt = await promptFolders(from, folder, (p) =>
        store.use((s, session) => packAsMetaPrompt(s, session, { ...p, dataDir })),
      );
      return jobs.start({ kind: 'predict', backbone: folder, data: data.name, task: task.type, ...prompt }, { data });
    },
  };
}
