/**
 * The Task step: the task types with their default templates and label sets, and a live preview of
 * an edited template framing the first example of the chosen dataset. Framing is the tasks
 * layer's (tasks/registry.ts) and happens here, in main: the renderer shows what comes back.
 */
import { UserError } from '../common/errors.js';
import { TASK_TYPES, type TaskType } from '../common/vocabulary.js';
import type { RequestHandlers, TaskTypeView, TemplatePreviewView } from '../ipc/contract.js';
import { LABELLED_TASKS } from '../tasks/labelling.js';
import { framePrompt, TASKS, YES_NO_MAYBE } from '../tasks/registry.js';
import type { TaskInput } from '../tasks/types.js';
import type { StoreService } from './store-service.js';

/** Label sets to start from when a dataset brings none (NLI's usual three; i2b2 2010's concept types). */
const DEFAULT_LABELS: Readonly<Record<TaskType, readonly string[]>> = {
  ner: ['problem', 'test', 'treatment'],
  re: [],
  qa: YES_NO_MAYBE,
  nli: ['entailment', 'neutral', 'contradiction'],
  summarization: [],
};

export function taskTypes(): TaskTypeView[] {
  return TASK_TYPES.map((type) => {
    const d = TASKS[type];
    return {
      type,
      title: d.title,
      defaultTemplate: d.defaultTemplate,
      requiredFields: d.requiredFields,
      knownFields: d.knownFields,
      defaultLabels: DEFAULT_LABELS[type],
      labelled: LABELLED_TASKS.includes(type),
    };
  });
}

type TaskRequests = 'tasks.types' | 'tasks.preview';

export function taskHandlers(store: StoreService): Pick<RequestHandlers, TaskRequests> {
  /** Datasets whose examples were read for a preview since start: audited once, not per keystroke. */
  const audited = new Set<number>();
  return {
    'tasks.types': async () => taskTypes(),
    'tasks.preview': ({ type, labels, template, dataset }) =>
      store.use((s, session): TemplatePreviewView => {
        if (dataset === undefined)
          return { prompt: null, problem: 'Choose a dataset to see one of its examples framed.' };
        session.require('notes.read', 'read dataset examples');
        const summary = s.datasets.get(dataset);
        if (summary.taskType !== type)
          return { prompt: null, problem: `"${summary.name}" holds ${summary.taskType} examples, not ${type}.` };
        const first = s.datasets.examples(summary.id, { limit: 1 })[0];
        if (!first) return { prompt: null, problem: `"${summary.name}" has no examples.` };
        if (!audited.has(summary.id)) {
          session.record('notes.read', 'tasks.preview', { objectType: 'dataset', objectIds: [summary.id] });
          audited.add(summary.id);
        }
        try {
          return { prompt: framePrompt({ type, labels, template }, first.input as TaskInput), problem: null };
        } catch (error) {
          // the template's problem names its fields, never the example's text
          if (error instanceof UserError) return { prompt: null, problem: error.message };
          throw error;
        }
      }),
  };
}
