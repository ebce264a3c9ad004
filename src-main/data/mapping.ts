/**
 * Column mapping for JSONL and CSV: which source column or JSON field fills which task field.
 * Written `field=source,field=source`, e.g. `source=dialogue,summary=section_text,id=ID` or
 * `options=opa|opb|opc|opd,answerIndex=cop`. A source is a column name, a dotted path into JSON
 * (`annotations.0.label`) or several joined with `|` (a list: options, or context paragraphs).
 * Unmapped fields are read from a column of the same name. Rows that already are ClinPrompt's own
 * `{ input, target }` JSONL (see exporters.ts) need no mapping.
 */
import { UserError } from '../common/errors.js';
import { alignMentions } from '../tasks/align.js';
import { matchLabel, normalizeLabelText } from '../tasks/labels.js';
import { optionLetter } from '../tasks/parse.js';
import { YES_NO_MAYBE } from '../tasks/registry.js';
import { SPLITS, type Entity, type QaInput, type Split, type TaskType } from '../tasks/types.js';
import type { RawExample } from './source.js';

export type Row = Readonly<Record<string, unknown>>;
export type FieldMapping = Readonly<Record<string, string>>;

/** The fields each task type reads, besides `id` and `split`. */
export const TASK_FIELDS: { readonly [T in TaskType]: readonly string[] } = {
  ner: ['text', 'entities'],
  re: ['text', 'head', 'tail', 'label', 'relations'],
  qa: ['question', 'context', 'options', 'answer', 'answerIndex'],
  nli: ['premise', 'hypothesis', 'label'],
  summarization: ['source', 'summary'],
};

export function parseMapping(spec: string | undefined, task: TaskType): FieldMapping {
  if (spec === undefined || spec.trim() === '') return {};
  const known = ['id', 'split', ...TASK_FIELDS[task]];
  const mapping: Record<string, string> = {};
  for (const part of spec.split(',')) {
    const [field, source] = part.split('=').map((s) => s.trim());
    if (!field || !source) {
      throw new UserError('INVALID_ARGUMENT', `"${part}" is not field=column, e.g. "premise=Statement,label=Label".`, {
        field: 'mapping',
      });
    }
    if (!known.includes(field)) {
      throw new UserError('INVALID_ARGUMENT', `${task} has no field "${field}"; its fields are ${known.join(', ')}.`, {
        field: 'mapping',
      });
    }
    mapping[field] = source;
  }
  return mapping;
}

function lookup(row: Row, path: string): unknown {
  if (path in row) return row[path];
  let value: unknown = row;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The value of a task field in a row: mapped sources, a list for `a|b|c`, else the same-named column. */
export function fieldValue(row: Row, mapping: FieldMapping, field: string): unknown {
  const source = mapping[field] ?? field;
  if (source.includes('|')) return source.split('|').map((s) => lookup(row, s.trim()));
  return lookup(row, source);
}

export class RowProblem extends Error {
  /** The task field whose column the row lacks altogether (not just empty): on a first row, the mapping's fault. */
  constructor(
    message: string,
    readonly absentField?: string,
  ) {
    super(message);
  }
}

function text(row: Row, mapping: FieldMapping, field: string, required: boolean): string | undefined {
  const value = fieldValue(row, mapping, field);
  if (value === undefined || value === null || value === '') {
    if (!required) return undefined;
    throw new RowProblem(
      `the ${field} field${mapping[field] ? ` (mapped to "${mapping[field]}")` : ''} is missing or empty`,
      value === undefined ? field : undefined,
    );
  }
  if (Array.isArray(value)) return value.map((v) => String(v ?? '')).join('\n');
  if (typeof value === 'object') throw new RowProblem(`the ${field} field is an object, expected text`);
  return String(value);
}

function list(row: Row, mapping: FieldMapping, field: string): string[] | undefined {
  const value = fieldValue(row, mapping, field);
  if (value === undefined || value === null || value === '') return undefined;
  const parsed = typeof value === 'string' && value.trim().startsWith('[') ? (JSON.parse(value) as unknown) : value;
  if (!Array.isArray(parsed)) throw new RowProblem(`the ${field} field must be a list (or columns joined with |)`);
  return parsed.map((v) => String(v ?? ''));
}

function entitiesFrom(value: unknown, textValue: string): Entity[] {
  const parsed = typeof value === 'string' ? (JSON.parse(value) as unknown) : (value ?? []);
  if (!Array.isArray(parsed)) throw new RowProblem('the entities field must be a list of {start, end, type}');
  return parsed.map((raw, i) => {
    const e = raw as Partial<Entity>;
    if (!Number.isInteger(e.start) || !Number.isInteger(e.end) || typeof e.type !== 'string') {
      throw new RowProblem(`entity ${i + 1} needs integer start and end and a type`);
    }
    const start = e.start as number;
    const end = e.end as number;
    if (start < 0 || end <= start || end > textValue.length) {
      throw new RowProblem(
        `entity ${i + 1} has offsets ${start}-${end} outside the text (${textValue.length} characters)`,
      );
    }
    if (e.text !== undefined && e.text !== textValue.slice(start, end)) {
      throw new RowProblem(`entity ${i + 1}'s text does not match its offsets`);
    }
    return { ...e, start, end, type: e.type, text: textValue.slice(start, end) } as Entity;
  });
}

/** ChemProt-style markers: `<< head >>` and `[[ tail ]]` in the text name the pair. */
const HEAD_MARKER = /<<\s*(.+?)\s*>>/;
const TAIL_MARKER = /\[\[\s*(.+?)\s*\]\]/;

/**
 * Which option (0-based) a record's answer names: a 1-based index column (MedMCQA's cop); else the
 * option whose text the answer is, exactly (so an answer "C" among options "Vitamin A", "C", "D"
 * is the option "C", not the third); else an option letter. Never a near match: a label that is
 * almost right is silently wrong.
 */
function answerOption(options: readonly string[], indexValue: unknown, answer: string): number {
  const letters = `A-${optionLetter(options.length - 1)}`;
  if (indexValue !== undefined && indexValue !== null && indexValue !== '') {
    const index = Number(indexValue) - 1;
    if (!Number.isInteger(index) || index < 0 || index >= options.length) {
      throw new RowProblem(`the answer index is not a number from 1 to ${options.length}`);
    }
    return index;
  }
  const wanted = normalizeLabelText(answer);
  const byText = options.flatMap((o, i) => (normalizeLabelText(o) === wanted ? [i] : []));
  if (byText.length > 1) throw new RowProblem(`the answer is the text of ${byText.length} options; it must name one`);
  if (byText.length === 1) return byText[0] as number;
  if (/^[A-Za-z]$/.test(answer.trim())) {
    const index = answer.trim().toUpperCase().charCodeAt(0) - 65;
    if (index < options.length) return index;
  }
  throw new RowProblem(
    `the answer is neither the text of one of the ${options.length} options nor an option letter (${letters})`,
  );
}

function qaInputAndAnswer(row: Row, mapping: FieldMapping): { input: QaInput; answer: string } {
  const question = text(row, mapping, 'question', true) as string;
  const context = text(row, mapping, 'context', false);
  const options = list(row, mapping, 'options');
  const indexValue = fieldValue(row, mapping, 'answerIndex');
  const rawAnswer = text(row, mapping, 'answer', indexValue === undefined || indexValue === null || indexValue === '');
  const base = { question, ...(context !== undefined ? { context } : {}) };
  if (options) {
    const index = answerOption(options, indexValue, rawAnswer ?? '');
    return { input: { ...base, options, kind: 'multiple-choice' }, answer: optionLetter(index) };
  }
  const answer = rawAnswer as string;
  const yesNo = matchLabel(answer, YES_NO_MAYBE);
  if (yesNo !== undefined && answer.trim().split(/\s+/).length === 1) {
    return { input: { ...base, kind: 'yes-no-maybe' }, answer: yesNo };
  }
  return { input: { ...base, kind: 'free' }, answer: answer.trim() };
}

function parseSplit(row: Row, mapping: FieldMapping): Split | undefined {
  const value = text(row, mapping, 'split', false);
  if (value === undefined) return undefined;
  const split = matchLabel(value === 'validation' || value === 'devel' ? 'dev' : value, SPLITS);
  if (split === undefined) throw new RowProblem('the split field holds something other than train, dev or test');
  return split as Split;
}

const NATIVE_FIELDS: { readonly [T in TaskType]: { input: readonly string[]; target: string } } = {
  ner: { input: ['text'], target: 'entities' },
  re: { input: ['text'], target: 'relations' },
  qa: { input: ['question', 'kind'], target: 'answer' },
  nli: { input: ['premise', 'hypothesis'], target: 'label' },
  summarization: { input: ['source'], target: 'summary' },
};

/** ClinPrompt's own `{ input, target }` rows: the fields the task needs must be there. */
function checkNative(task: TaskType, input: Row, target: unknown): void {
  const fields = NATIVE_FIELDS[task];
  const missing = fields.input.filter((f) => typeof input[f] !== 'string');
  if (missing.length > 0) throw new RowProblem(`input lacks ${missing.join(', ')} for a ${task} example`);
  if (target === null) return; // an unlabelled note
  if (typeof target !== 'object' || !(fields.target in target)) {
    throw new RowProblem(`target lacks ${fields.target} for a ${task} example`);
  }
  if (task !== 'ner') return;
  const entities = (target as Row)['entities'];
  const length = (input['text'] as string).length;
  if (!Array.isArray(entities)) throw new RowProblem('target.entities must be a list');
  entities.forEach((e: Partial<Entity>, i) => {
    const ok = Number.isInteger(e.start) && Number.isInteger(e.end) && typeof e.type === 'string';
    if (!ok || (e.start as number) < 0 || (e.end as number) > length || (e.end as number) < (e.start as number)) {
      throw new RowProblem(`target entity ${i + 1} needs a type and start/end offsets inside the text`);
    }
  });
}

/** Builds one example from a mapped row; throws RowProblem (the caller adds file and line). */
export function rowToExample(task: TaskType, row: Row, mapping: FieldMapping): RawExample {
  const id = text(row, mapping, 'id', false);
  const split = parseSplit(row, mapping);
  const common = { ...(id !== undefined ? { externalId: id } : {}), ...(split ? { split } : {}) };
  if (
    Object.keys(mapping).length === 0 &&
    typeof row['input'] === 'object' &&
    row['input'] !== null &&
    'target' in row
  ) {
    checkNative(task, row['input'] as Row, row['target']);
    const labels = Array.isArray(row['labels']) ? row['labels'].map(String) : [];
    return { ...common, input: row['input'] as never, target: row['target'] as never, labels };
  }
  switch (task) {
    case 'ner': {
      const note = text(row, mapping, 'text', true) as string;
      const entities = entitiesFrom(fieldValue(row, mapping, 'entities'), note);
      return { ...common, input: { text: note }, target: { entities }, labels: entities.map((e) => e.type) };
    }
    case 're': {
      const note = text(row, mapping, 'text', true) as string;
      const label = text(row, mapping, 'label', true) as string;
      const head = text(row, mapping, 'head', false) ?? HEAD_MARKER.exec(note)?.[1];
      const tail = text(row, mapping, 'tail', false) ?? TAIL_MARKER.exec(note)?.[1];
      if (head === undefined || tail === undefined) {
        throw new RowProblem(
          'a relation row needs head and tail columns, or << head >> and [[ tail ]] markers in the text',
        );
      }
      const locate = (mention: string): Entity =>
        alignMentions(note, [{ text: mention, type: '' }]).entities[0] ?? {
          start: -1,
          end: -1,
          type: '',
          text: mention,
        };
      const relations = [{ type: label, head: locate(head), tail: locate(tail) }];
      // Pair-wise RE repeats a sentence once per entity pair: all its pairs are drawn into one split.
      const sentence = note.replace(HEAD_MARKER, '$1').replace(TAIL_MARKER, '$1');
      return {
        ...common,
        group: `sentence:${sentence}`,
        input: { text: note, pair: { head, tail } },
        target: { relations, label },
        labels: [label],
      };
    }
    case 'qa': {
      const { input, answer } = qaInputAndAnswer(row, mapping);
      return { ...common, input, target: { answer }, labels: input.kind === 'free' ? [] : [answer] };
    }
    case 'nli': {
      const premise = text(row, mapping, 'premise', true) as string;
      const hypothesis = text(row, mapping, 'hypothesis', true) as string;
      const label = (text(row, mapping, 'label', true) as string).trim();
      return { ...common, input: { premise, hypothesis }, target: { label }, labels: [label] };
    }
    case 'summarization': {
      const source = text(row, mapping, 'source', true) as string;
      const summary = text(row, mapping, 'summary', true) as string;
      return { ...common, input: { source }, target: { summary }, labels: [] };
    }
  }
}
