/**
 * The Run step's use case: a trained prompt run over a dataset's notes (labelled or not) through
 * the one inference path (`predictExamples`), each answer read back with the task's parser into
 * what the wizard shows: mentions as ranges of the note (NER), relations (RE), the label or
 * answer (QA, NLI), the summary. Runs in a job worker; the notes come from the host in memory.
 */
import type { Backbone } from '../backbone/load.js';
import { UserError } from '../common/errors.js';
import type { EntityView, NoteResultView, NoteRunView } from '../ipc/contract.js';
import type { PeftAdapter } from '../peft/adapter-folder.js';
import { mptStartAdapter } from '../peft/mpt/model.js';
import { openAdapter, readRunRecord } from '../peft/run-folder.js';
import type { NerPrediction, RePrediction } from '../tasks/parse.js';
import { parseOutput, qaOptions, type TaskConfig } from '../tasks/registry.js';
import type { Entity, Example } from '../tasks/types.js';
import { predictExamples, type EvaluateOptions, type Prediction, type TaskData } from './training.js';

export interface NoteRunRequest extends Pick<EvaluateOptions, 'provider' | 'threads' | 'signal'> {
  readonly backbone: Backbone;
  /** The trained run folder; without it, `meta`'s starting prompt, or the untrained backbone. */
  readonly run?: string | undefined;
  /** A distilled meta-prompt folder (the prompt stage 3 starts from). */
  readonly meta?: string | undefined;
  readonly data: TaskData;
  readonly limit: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export async function runOverNotes(r: NoteRunRequest): Promise<NoteRunView> {
  const examples = r.data.examples.slice(0, r.limit);
  if (examples.length === 0)
    throw new UserError('NOT_FOUND', `"${r.data.name}" holds no notes to run the prompt over.`, { field: 'dataset' });
  const task = r.run === undefined ? r.data.task : trainedTask(r.run, r.data);
  const opened = promptOf(r);
  const predictions = await predictExamples(opened.backbone, opened.adapter, task, examples, {
    ...(r.provider && { provider: r.provider }),
    ...(r.threads !== undefined && { threads: r.threads }),
    ...(r.signal && { signal: r.signal }),
    ...(r.onProgress && { onProgress: r.onProgress }),
  });
  const results = examples.map((e, i) => noteResult(task, e, predictions[i]!));
  return {
    task: r.data.task.type,
    dataset: r.data.name,
    run: r.run ?? r.meta ?? '',
    n: results.length,
    unparseable: results.filter((x) => !x.ok).length,
    results,
  };
}

/** The backbone and adapter a request names: a trained run, a meta-prompt's starting prompt, or none. */
function promptOf(r: NoteRunRequest): { backbone: Backbone; adapter?: PeftAdapter | undefined } {
  if (r.run !== undefined && r.meta !== undefined)
    throw new UserError('INVALID_ARGUMENT', 'Name a trained run or a meta-prompt, not both.', { field: 'meta' });
  if (r.run !== undefined) return openAdapter(r.run, r.backbone);
  return { backbone: r.backbone, adapter: r.meta === undefined ? undefined : mptStartAdapter(r.meta, r.backbone) };
}

/**
 * The task as the prompt was trained on it (its labels and template): new notes carry no labels,
 * and a prompt answers in the words it learned. A run of another task type is refused.
 */
function trainedTask(run: string, data: TaskData): TaskConfig {
  const trained = readRunRecord(run)?.data.task as TaskConfig | readonly TaskConfig[] | undefined;
  if (trained === undefined || Array.isArray(trained)) return data.task;
  const task = trained as TaskConfig;
  if (task.type !== data.task.type)
    throw new UserError(
      'INVALID_ARGUMENT',
      `The prompt was trained for ${task.type}, but "${data.name}" holds ${data.task.type} notes. Choose notes of the prompt's task.`,
      { field: 'dataset' },
    );
  return task;
}

/** One note's output as the wizard shows it, read with the task's own parser. */
export function noteResult(task: TaskConfig, e: Example, prediction: Prediction): NoteResultView {
  const parsed = parseOutput(task, prediction.output, e.input);
  const base = {
    id: prediction.id,
    split: e.split,
    input: inputFields(e),
    output: prediction.output,
    ok: parsed.ok,
    problems: parsed.problems,
  };
  const value = parsed.value;
  if (task.type === 'ner') {
    const { entities, unaligned } = value as NerPrediction;
    return {
      ...base,
      entities: [
        ...entities.map(entityView),
        ...unaligned.map((m) => ({ start: -1, end: -1, type: m.type, text: m.text })),
      ],
    };
  }
  if (task.type === 're' && typeof value === 'object' && value !== null) {
    const relations = (value as RePrediction).relations.map((rel) => ({
      head: entityView(rel.head),
      type: rel.type,
      tail: entityView(rel.tail),
    }));
    return { ...base, relations };
  }
  return typeof value === 'string' ? { ...base, answer: value } : base;
}

function entityView(e: Entity): EntityView {
  return { start: e.start, end: e.end, type: e.type, text: e.text };
}

/** The example's input fields as text (a list joined by " | "), for reading beside the answers. */
export function inputFields(e: Example): Record<string, string> {
  return Object.fromEntries(
    Object.entries(e.input)
      .filter(([, v]) => typeof v === 'string' || Array.isArray(v))
      // options carry the letters the answers use ("B"), so a reader can match them
      .map(([k, v]) => [
        k,
        k === 'options' && Array.isArray(v)
          ? qaOptions({ options: v as string[] })!
          : Array.isArray(v)
            ? v.join(' | ')
            : String(v),
      ]),
  );
}
