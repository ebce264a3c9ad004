/**
 * The Label step: a person labels a few examples of a dataset in the app, and each label is saved
 * as it is made. The marks live in the store's annotations, on a copy of the example's text in the
 * notes table (collection `labelling:<dataset id>`); each change rewrites that example as a train
 * example of the dataset `<dataset>-labelled`, created with the Task step's label set and template,
 * which Adapt trains on. Saving needs `annotations.write`; a mark, its example and the audit entry
 * commit together. Messages name ids, labels and counts, never note text.
 */
import { UserError } from '../common/errors.js';
import type {
  LabelChangeView,
  LabelItemView,
  LabelMarkView,
  LabelSessionView,
  RequestHandlers,
  TaskSetup,
} from '../ipc/contract.js';
import { AnnotationsRepository, type Annotation } from '../store/repositories/annotations.js';
import {
  DatasetsRepository,
  type DatasetSummary,
  type Example as StoredExample,
} from '../store/repositories/datasets.js';
import { NotesRepository } from '../store/repositories/notes.js';
import type { StoreSession } from '../store/session.js';
import type { Store } from '../store/store.js';
import type { Db } from '../store/sqlite.js';
import {
  LABELLED_TASKS,
  RE_MENTION,
  labelChoices,
  labelledText,
  reMentions,
  relationEnds,
  snapToWords,
  targetFromMarks,
  wordSpans,
  type Mark,
} from '../tasks/labelling.js';
import { taskDefinition, templateFor } from '../tasks/registry.js';
import type { ReTarget, Span, TaskInput, TaskTarget, TaskType } from '../tasks/types.js';
import { inputFields } from './note-run.js';
import type { StoreService } from './store-service.js';

/** The dataset that labels made on `source` become train examples of. */
export function labelledDatasetName(source: string): string {
  return `${source.slice(0, 91)}-labelled`;
}

const collectionOf = (datasetId: number): string => `labelling:${datasetId}`;

/** Refuses a task type the Label step cannot label, or a dataset of another type. */
export function checkTask(summary: DatasetSummary, type: TaskType): void {
  if (!LABELLED_TASKS.includes(type))
    throw new UserError(
      'UNSUPPORTED',
      `${taskDefinition(type).title} cannot be labelled in the app: label it in BRAT and import it.`,
      { field: 'type' },
    );
  if (summary.taskType !== type)
    throw new UserError(
      'INVALID_ARGUMENT',
      `"${summary.name}" holds ${summary.taskType} examples, not ${type}: choose a ${type} dataset or the task type ${summary.taskType}.`,
      { field: 'dataset' },
    );
}

function markView(a: Annotation): LabelMarkView {
  return {
    id: a.id,
    label: a.label,
    start: a.start,
    end: a.end,
    ...(typeof a.value === 'string' && { value: a.value }),
    ...relationEnds(a.value),
  };
}

/** Whether an example still needs labels: none yet, or (RE) mentions but no relation. */
function toLabel(type: TaskType, target: TaskTarget | null): boolean {
  return target === null || (type === 're' && (target as ReTarget).relations.length === 0);
}

/** An example's marks in the order they were made. */
function marksOf(annotations: AnnotationsRepository, noteId: number | undefined): Annotation[] {
  return noteId === undefined ? [] : annotations.forNote(noteId).sort((a, b) => a.id - b.id);
}

function labelledCount(datasets: DatasetsRepository, source: string): number {
  return datasets.list().find((d) => d.name === labelledDatasetName(source))?.counts.train ?? 0;
}

/** The unlabelled examples of a dataset (the first `limit`) with the marks made on them so far. */
export function labelItems(
  store: Store,
  session: StoreSession,
  request: { dataset: string; task: TaskSetup; limit: number },
): LabelSessionView {
  session.require('notes.read', 'read notes to label them');
  const { type, labels } = request.task;
  const source = store.datasets.get(request.dataset);
  checkTask(source, type);
  const items: LabelItemView[] = [];
  for (const e of store.datasets.iterateExamples(source.id)) {
    if (items.length >= request.limit) break;
    if (!toLabel(type, e.target as TaskTarget | null)) continue;
    const input = e.input as TaskInput;
    const note = store.notes.find(collectionOf(source.id), String(e.id));
    items.push({
      exampleId: e.id,
      externalId: e.externalId,
      fields: inputFields({ split: e.split, input, target: null, labels: [] }),
      text: labelledText(type, input),
      ...((type === 'ner' || type === 're') && { words: wordSpans(labelledText(type, input)) }),
      ...(type === 're' && {
        entities: ((e.target as ReTarget | null)?.entities ?? []).map(({ start, end, type: t }) => ({
          start,
          end,
          type: t,
        })),
      }),
      choices: labelChoices(type, input, labels),
      marks: marksOf(store.annotations, note?.id).map(markView),
    });
  }
  session.record('notes.read', 'labels.read', {
    objectType: 'dataset',
    objectIds: [source.id],
    details: { examples: items.length },
  });
  return {
    source: source.name,
    labelledDataset: labelledDatasetName(source.name),
    labelled: labelledCount(store.datasets, source.name),
    items,
  };
}

export interface LabelRequest {
  readonly dataset: string;
  readonly task: TaskSetup;
  readonly exampleId: number;
  readonly label: string;
  readonly start?: number | undefined;
  readonly end?: number | undefined;
  readonly summary?: string | undefined;
  readonly head?: Span | undefined;
  readonly tail?: Span | undefined;
}

/** An RE relation between two of the note's mentions (`given` and those marked so far). */
function relationMark(request: LabelRequest, example: StoredExample, marks: readonly Mark[]): Mark {
  const { head, tail } = request;
  if (!head || !tail)
    throw new UserError('INVALID_ARGUMENT', "Pick the relation's first and second mention.", { field: 'head' });
  const text = labelledText('re', example.input as TaskInput);
  const mentions = reMentions(text, example.target as ReTarget | null, marks);
  const known = (s: Span) => mentions.some((m) => m.start === s.start && m.end === s.end);
  if (!known(head) || !known(tail))
    throw new UserError('INVALID_ARGUMENT', 'A relation joins two mentions of the note: mark them first.', {
      field: known(head) ? 'tail' : 'head',
    });
  if (head.start === tail.start && head.end === tail.end)
    throw new UserError('INVALID_ARGUMENT', 'A relation joins two different mentions.', { field: 'tail' });
  return { label: request.label, start: null, end: null, value: { head: { ...head }, tail: { ...tail } } };
}

/** The mark a request makes, checked against the example: a label of its choices, a span snapped to words, a summary. */
function markOf(request: LabelRequest, example: StoredExample, marks: readonly Mark[]): Mark {
  const input = example.input as TaskInput;
  const { type, labels } = request.task;
  if (type === 're' && request.head === undefined && request.tail === undefined)
    return spanMark(request, input, RE_MENTION);
  if (type === 'summarization') {
    if ((request.summary ?? '').trim() === '')
      throw new UserError('INVALID_ARGUMENT', 'Write the summary first.', { field: 'summary' });
    return { label: 'summary', start: null, end: null, value: request.summary };
  }
  const choices = labelChoices(type, input, labels);
  if (!choices.includes(request.label))
    throw new UserError('INVALID_ARGUMENT', `The label must be one of: ${choices.join(', ')}.`, { field: 'label' });
  if (type === 're') return relationMark(request, example, marks);
  if (type !== 'ner') return { label: request.label, start: null, end: null };
  return spanMark(request, input, request.label);
}

/** A mention: the request's selection snapped to whole words. */
function spanMark(request: LabelRequest, input: TaskInput, label: string): Mark {
  if (request.start === undefined || request.end === undefined)
    throw new UserError('INVALID_ARGUMENT', 'Select the words of the mention first.', { field: 'start' });
  const span = snapToWords(labelledText(request.task.type, input), request.start, request.end);
  if (!span) throw new UserError('INVALID_ARGUMENT', 'The selection holds no word.', { field: 'start' });
  return { label, ...span };
}

/**
 * Rewrites the labelled dataset's train example for one source example from its marks (removed
 * when none is left); creates the labelled dataset with the task set-up, or updates its label set
 * and template.
 */
function syncExample(db: Db, source: DatasetSummary, example: StoredExample, task: TaskSetup, marks: Mark[]): number {
  const datasets = new DatasetsRepository(db);
  const name = labelledDatasetName(source.name);
  const template =
    task.template !== undefined && task.template !== taskDefinition(task.type).defaultTemplate
      ? task.template
      : undefined;
  templateFor({ type: task.type, labels: task.labels, ...(template !== undefined && { template }) });
  let labelled = datasets.list().find((d) => d.name === name);
  if (!labelled) {
    const meta = { source: source.name, labelledInApp: true, ...(template !== undefined && { template }) };
    datasets.importDataset({ name, taskType: task.type, sourceFormat: 'labelled', labelSet: task.labels, meta }, []);
    labelled = datasets.get(name);
  } else {
    if (labelled.taskType !== task.type)
      throw new UserError(
        'ALREADY_EXISTS',
        `"${name}" holds ${labelled.taskType} labels, not ${task.type}: rename or delete it to label this dataset as ${task.type}.`,
        { field: 'dataset' },
      );
    const { template: _old, ...kept } = labelled.meta;
    datasets.updateTask(labelled.id, {
      labelSet: task.labels,
      meta: { ...kept, ...(template !== undefined && { template }) },
    });
  }
  const externalId = example.externalId ?? `example-${example.id}`;
  const made = targetFromMarks(task.type, example.input as TaskInput, marks, example.target as TaskTarget | null);
  if (made === null) datasets.removeExample(labelled.id, 'train', externalId);
  else datasets.putExample(labelled.id, { split: 'train', externalId, input: example.input, ...made });
  return datasets.get(labelled.id).counts.train;
}

/** A change as the service makes it; the renderer gets it without the dataset's row id. */
export type LabelChange = LabelChangeView & { readonly datasetId: number };

/** Saves one label and the train example it makes (needs annotations.write; audited). */
export function addLabel(store: Store, session: StoreSession, request: LabelRequest): LabelChange {
  session.require('annotations.write', 'label notes');
  return session.perform(
    'annotations.write',
    'labels.add',
    (db) => {
      const datasets = new DatasetsRepository(db);
      const notes = new NotesRepository(db);
      const annotations = new AnnotationsRepository(db);
      const source = datasets.get(request.dataset);
      checkTask(source, request.task.type);
      const example = datasets.example(source.id, request.exampleId);
      const input = example.input as TaskInput;
      const collection = collectionOf(source.id);
      const existing = notes.find(collection, String(example.id))?.id;
      const mark = markOf(request, example, marksOf(annotations, existing));
      const noteId =
        existing ??
        notes.importNotes(
          collection,
          [
            {
              externalId: String(example.id), // a note needs text; an example with none can still take a whole-note label
              text: labelledText(request.task.type, input) || ' ',
              meta: { datasetId: source.id },
            },
          ],
          session.user.username,
        )[0]!;
      annotations.add(
        {
          noteId,
          taskType: request.task.type,
          label: mark.label,
          ...(mark.start !== null && mark.end !== null && { start: mark.start, end: mark.end }),
          ...(mark.value !== undefined && { value: mark.value }),
        },
        session.user.username,
      );
      const marks = marksOf(annotations, noteId);
      const labelled = syncExample(db, source, example, request.task, marks);
      return { exampleId: example.id, marks: marks.map(markView), labelled, datasetId: source.id };
    },
    (r) => ({
      objectType: 'dataset',
      objectIds: [r.datasetId],
      // the label's name from the label set, never the summary's or the note's text
      details: { exampleId: r.exampleId, label: request.task.type === 'summarization' ? 'summary' : request.label },
    }),
  );
}

/** Takes back the newest label this person made on the dataset, and rewrites its example. */
export function undoLabel(
  store: Store,
  session: StoreSession,
  request: { dataset: string; task: TaskSetup },
): LabelChange {
  session.require('annotations.write', 'undo a label');
  return session.perform(
    'annotations.write',
    'labels.undo',
    (db) => {
      const datasets = new DatasetsRepository(db);
      const notes = new NotesRepository(db);
      const annotations = new AnnotationsRepository(db);
      const source = datasets.get(request.dataset);
      checkTask(source, request.task.type);
      const last = annotations.lastBy(collectionOf(source.id), session.user.username);
      if (!last) throw new UserError('NOT_FOUND', `You have made no label on "${source.name}" to undo.`);
      const example = datasets.example(source.id, Number(notes.get(last.noteId).externalId));
      annotations.delete(last.id);
      const replaced = replacedBy(last);
      if (replaced) annotations.restore(replaced); // a reversed relation turns back
      const marks = marksOf(annotations, last.noteId);
      const labelled = syncExample(db, source, example, request.task, marks);
      return {
        exampleId: example.id,
        marks: marks.map(markView),
        labelled,
        undone: markView(last),
        datasetId: source.id,
      };
    },
    (r) => ({ objectType: 'dataset', objectIds: [r.datasetId], details: { exampleId: r.exampleId } }),
  );
}

/** The annotation a reversal replaced, kept in the reversed one's value so that undo restores it. */
function replacedBy(a: Annotation): Annotation | undefined {
  return (a.value as { replaces?: Annotation } | null)?.replaces;
}

/**
 * RE: reverses a saved relation (head <-> tail). The relation is replaced by its reverse, which
 * keeps the original so that undo turns it back like any other change; the example is rewritten.
 */
export function reverseRelation(
  store: Store,
  session: StoreSession,
  request: { dataset: string; task: TaskSetup; exampleId: number; markId: number },
): LabelChange {
  session.require('annotations.write', 'label notes');
  return session.perform(
    'annotations.write',
    'labels.reverse',
    (db) => {
      const datasets = new DatasetsRepository(db);
      const annotations = new AnnotationsRepository(db);
      const source = datasets.get(request.dataset);
      checkTask(source, request.task.type);
      const example = datasets.example(source.id, request.exampleId);
      const noteId = new NotesRepository(db).find(collectionOf(source.id), String(example.id))?.id;
      const original = marksOf(annotations, noteId).find((a) => a.id === request.markId);
      const ends = original && relationEnds(original.value);
      if (!original || !ends)
        throw new UserError('NOT_FOUND', `Example ${example.id} has no relation ${request.markId} to reverse.`, {
          field: 'markId',
        });
      annotations.delete(original.id);
      const reversed = { head: ends.tail, tail: ends.head, replaces: original };
      annotations.add(
        { noteId: original.noteId, taskType: 're', label: original.label, value: reversed },
        session.user.username,
      );
      const marks = marksOf(annotations, original.noteId);
      const labelled = syncExample(db, source, example, request.task, marks);
      return { exampleId: example.id, marks: marks.map(markView), labelled, datasetId: source.id };
    },
    (r) => ({
      objectType: 'dataset',
      objectIds: [r.datasetId],
      details: { exampleId: r.exampleId, markId: request.markId },
    }),
  );
}

type LabelRequests = 'labels.items' | 'labels.add' | 'labels.undo' | 'labels.reverse';

export function labelHandlers(store: StoreService): Pick<RequestHandlers, LabelRequests> {
  const withoutId = <T extends { datasetId: number }>({ datasetId: _, ...view }: T): Omit<T, 'datasetId'> => view;
  return {
    'labels.items': (request) => store.use((s, session) => labelItems(s, session, request)),
    'labels.add': (request) => store.use((s, session) => withoutId(addLabel(s, session, request))),
    'labels.undo': (request) => store.use((s, session) => withoutId(undoLabel(s, session, request))),
    'labels.reverse': (request) => store.use((s, session) => withoutId(reverseRelation(s, session, request))),
  };
}
