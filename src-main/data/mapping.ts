/**
 * Column mapping for JSONL and CSV: which source column or JSON field fills which task field.
 * On the command line it is written `field=source,field=source`, e.g.
 * `source=dialogue,summary=section_text,id=ID` or `options=opa|opb|opc|opd,answerIndex=cop`; the
 * app picks the columns from the file's own (`{ options: ['opa', 'opb'] }`). A source is a column
 * name or a dotted path into JSON (`annotations.0.label`); several sources make a list (options, or
 * context paragraphs). Unmapped fields are read from a column of the same name. Rows that already
 * are ClinPrompt's own `{ input, target }` JSONL (see exporters.ts) need no mapping.
 */
import { UserError } from '../common/errors.js';
import { alignMentions } from '../tasks/align.js';
import { matchLabel, normalizeLabelText } from '../tasks/labels.js';
import { optionLetter } from '../tasks/parse.js';
import { YES_NO_MAYBE } from '../tasks/registry.js';
import { SPLITS, type Entity, type QaInput, type Split, type TaskType } from '../tasks/types.js';
import type { RawExample } from './source.js';

export type Row = Readonly<Record<string, unknown>>;
/** The sources of each mapped field: one column, or several read as a list. */
export type FieldMapping = Readonly<Record<string, readonly string[]>>;
/** A mapping as written (`field=source,...`, or `preset:NAME`), or as columns picked per field. */
export type MappingSpec = string | FieldMapping;

/** A field a mapping can fill: whether every row needs it, whether it takes several columns, what it holds. */
export interface TaskField {
  readonly name: string;
  readonly required: boolean;
  readonly list: boolean;
  readonly holds: string;
}

const taskField = (name: string, holds: string, required = false, list = false): TaskField => ({
  name,
  required,
  list,
  holds,
});

/** Every task's own fields may also take these. */
const COMMON_FIELDS: readonly TaskField[] = [
  taskField('id', 'an id for each example'),
  taskField('split', 'train, dev or test'),
];

/** The fields each task type reads, besides `id` and `split` (rowToExample reads them as declared). */
export const TASK_FIELDS: { readonly [T in TaskType]: readonly TaskField[] } = {
  ner: [taskField('text', 'the note text', true), taskField('entities', 'the mentions: a list of {start, end, type}')],
  re: [
    taskField('text', 'the sentence or note', true),
    taskField('label', 'the relation', true),
    taskField('head', 'the first entity (else << >> markers in the text)'),
    taskField('tail', 'the second entity (else [[ ]] markers in the text)'),
  ],
  qa: [
    taskField('question', 'the question', true),
    taskField('context', 'the passage the answer comes from'),
    taskField('options', 'the answer options, one column each', false, true),
    taskField('answer', 'the answer: option text or letter, yes/no/maybe, or free text (or give the answer number)'),
    taskField('answerIndex', 'the number of the correct option, from 1'),
  ],
  nli: [
    taskField('premise', 'the premise', true),
    taskField('hypothesis', 'the hypothesis', true),
    taskField('label', 'the label (e.g. entailment)', true),
  ],
  summarization: [taskField('source', 'the text to summarise', true), taskField('summary', 'its summary', true)],
};

/** The fields a mapping of `task` may name, the task's own first. */
export function mappableFields(task: TaskType): readonly TaskField[] {
  return [...TASK_FIELDS[task], ...COMMON_FIELDS];
}

function isRequired(task: TaskType, name: string): boolean {
  return TASK_FIELDS[task].some((f) => f.name === name && f.required);
}

function badMapping(message: string): UserError {
  return new UserError('INVALID_ARGUMENT', message, { field: 'mapping' });
}

/** A written or picked mapping, checked: fields the task has, at least one source each. */
export function parseMapping(spec: MappingSpec | undefined, task: TaskType): FieldMapping {
  if (spec === undefined) return {};
  const known = [...COMMON_FIELDS, ...TASK_FIELDS[task]].map((f) => f.name);
  const mapping: Record<string, readonly string[]> = {};
  const add = (name: string, sources: readonly string[]) => {
    if (!known.includes(name)) throw badMapping(`${task} has no field "${name}"; its fields are ${known.join(', ')}.`);
    mapping[name] = sources;
  };
  if (typeof spec !== 'string') {
    for (const [name, sources] of Object.entries(spec)) {
      const picked = sources.filter((s) => s !== '');
      if (picked.length > 0) add(name, picked);
    }
    return mapping;
  }
  if (spec.trim() === '') return {};
  for (const part of spec.split(',')) {
    const [name, source] = part.split('=').map((s) => s.trim());
    if (!name || !source) throw badMapping(`"${part}" is not field=column, e.g. "premise=Statement,label=Label".`);
    const sources = source.split('|').map((s) => s.trim());
    add(name, sources);
  }
  return mapping;
}

/** Column names as the guess compares them: lower case, letters and digits only. */
const squash = (name: string) => name.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');

/** Other column names that often hold each field (the public sets' among them), besides the field's own. */
const USUAL_NAMES: Readonly<Record<string, readonly string[]>> = {
  text: ['note', 'notetext', 'sentence', 'document', 'report', 'body', 'content'],
  entities: ['spans', 'mentions', 'annotations'],
  label: ['relation', 'class', 'gold', 'goldlabel', 'category'],
  head: ['entity1', 'subject', 'arg1'],
  tail: ['entity2', 'object', 'arg2'],
  question: ['query', 'q'],
  context: ['contexts', 'abstract', 'passage', 'evidence'],
  answer: ['finaldecision', 'gold', 'correctanswer'],
  answerIndex: ['cop', 'answeridx', 'correctoption', 'answernumber'],
  premise: ['sentence1', 'evidence', 'context'],
  hypothesis: ['sentence2', 'statement', 'claim'],
  source: ['dialogue', 'text', 'chq', 'document', 'note', 'input', 'article'],
  summary: ['sectiontext', 'target', 'reference', 'output', 'abstract'],
  id: ['uid', 'pmid', 'file', 'recordid', 'noteid', 'documentid', 'docid'],
  split: ['set', 'fold', 'subset'],
};

/** Option columns: opa..opd, option_a, option1, choice_b... */
const OPTION_COLUMN = /^(op|option|choice)([a-z]|\d)$/;

/**
 * The best guess at a mapping from a file's columns: the field's own name, then the names others
 * use for it (USUAL_NAMES, in order), each column used once; option columns for a list field.
 */
export function guessMapping(columns: readonly string[], task: TaskType): FieldMapping {
  const free = new Set(columns);
  const mapping: Record<string, readonly string[]> = {};
  for (const { name, list } of mappableFields(task)) {
    if (list) {
      const options = columns.filter((c) => free.has(c) && OPTION_COLUMN.test(squash(c)));
      if (options.length >= 2) {
        mapping[name] = options;
        for (const c of options) free.delete(c);
      }
      continue;
    }
    for (const wanted of [squash(name), ...(USUAL_NAMES[name] ?? [])]) {
      const column = columns.find((c) => free.has(c) && squash(c) === wanted);
      if (column !== undefined) {
        mapping[name] = [column];
        free.delete(column);
        break;
      }
    }
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

/** The value of a task field in a row: the mapped source, a list for several, else the same-named column. */
export function fieldValue(row: Row, mapping: FieldMapping, field: string): unknown {
  const sources = mapping[field] ?? [field];
  if (sources.length > 1) return sources.map((s) => lookup(row, s));
  return lookup(row, sources[0] ?? field);
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
      `the ${field} field${mapping[field] ? ` (mapped to "${mapping[field].join('|')}")` : ''} is missing or empty`,
      value === undefined ? field : undefined,
    );
  }
  if (Array.isArray(value)) return value.map((v) => String(v ?? '')).join('\n');
  if (typeof value === 'object') throw new RowProblem(`the ${field} field is an object, expected text`);
  return String(value);
}

/** A task field's text, required as TASK_FIELDS declares it. */
function declared(task: TaskType, row: Row, mapping: FieldMapping, name: string): string | undefined {
  return text(row, mapping, name, isRequired(task, name));
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
  const question = declared('qa', row, mapping, 'question') as string;
  const context = declared('qa', row, mapping, 'context');
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

/** A row in ClinPrompt's own `{ input, target }` form, which needs no column mapping. */
export function isNativeRow(row: Row): boolean {
  return typeof row['input'] === 'object' && row['input'] !== null && 'target' in row;
}

/** Builds one example from a mapped row; throws RowProblem (the caller adds file and line). */
export function rowToExample(task: TaskType, row: Row, mapping: FieldMapping): RawExample {
  const id = text(row, mapping, 'id', false);
  const split = parseSplit(row, mapping);
  const common = { ...(id !== undefined ? { externalId: id } : {}), ...(split ? { split } : {}) };
  if (Object.keys(mapping).length === 0 && isNativeRow(row)) {
    checkNative(task, row['input'] as Row, row['target']);
    const labels = Array.isArray(row['labels']) ? row['labels'].map(String) : [];
    return { ...common, input: row['input'] as never, target: row['target'] as never, labels };
  }
  switch (task) {
    case 'ner': {
      const note = declared('ner', row, mapping, 'text') as string;
      const entities = entitiesFrom(fieldValue(row, mapping, 'entities'), note);
      return { ...common, input: { text: note }, target: { entities }, labels: entities.map((e) => e.type) };
    }
    case 're': {
      const note = declared('re', row, mapping, 'text') as string;
      const label = declared('re', row, mapping, 'label') as string;
      const head = declared('re', row, mapping, 'head') ?? HEAD_MARKER.exec(note)?.[1];
      const tail = declared('re', row, mapping, 'tail') ?? TAIL_MARKER.exec(note)?.[1];
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
      const premise = declared('nli', row, mapping, 'premise') as string;
      const hypothesis = declared('nli', row, mapping, 'hypothesis') as string;
      const label = (declared('nli', row, mapping, 'label') as string).trim();
      return { ...common, input: { premise, hypothesis }, target: { label }, labels: [label] };
    }
    case 'summarization': {
      const source = declared('summarization', row, mapping, 'source') as string;
      const summary = declared('summarization', row, mapping, 'summary') as string;
      return { ...common, input: { source }, target: { summary }, labels: [] };
    }
  }
}
