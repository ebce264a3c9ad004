/**
 * Labels a person makes in the app, turned into an example's target: spans snapped to whole words
 * (NER), relations drawn between two mentions (RE), a note-level label (NLI, QA), a reference
 * summary. Marks arrive in the order they were made; for a note-level label the newest wins, so
 * undoing it brings the previous one back. Text and labels only: the store keeps the marks,
 * training reads the target made here.
 */
import { taskDefinition } from './registry.js';
import type { Entity, ReTarget, Relation, Span, TaskInput, TaskTarget, TaskType } from './types.js';

/** One label as made: a span of the note's text, or (start/end null) the whole note or a relation. */
export interface Mark {
  readonly label: string;
  readonly start: number | null;
  readonly end: number | null;
  /** The summary's text, for summarisation; a relation's `RelationEnds`, for RE. */
  readonly value?: unknown;
}

/** Task types labelled in this version. */
export const LABELLED_TASKS: readonly TaskType[] = ['ner', 're', 'nli', 'qa', 'summarization'];

export { RE_MENTION } from '../common/vocabulary.js';

/** The two mentions a relation joins, as character spans of the note. */
export interface RelationEnds {
  readonly head: Span;
  readonly tail: Span;
}

const isSpan = (v: unknown): v is Span =>
  typeof v === 'object' && v !== null && Number.isInteger((v as Span).start) && Number.isInteger((v as Span).end);

/** A stored mark's relation ends, or undefined when the mark is not a relation. */
export function relationEnds(value: unknown): RelationEnds | undefined {
  const v = value as Partial<RelationEnds> | null | undefined;
  return v && isSpan(v.head) && isSpan(v.tail) ? { head: v.head, tail: v.tail } : undefined;
}

const sameSpan = (a: Span, b: Span): boolean => a.start === b.start && a.end === b.end;

/**
 * The mentions of an RE note: those the example already has (an imported BRAT document with
 * entities but no relations), then those marked in the app, in text order, each span once.
 */
export function reMentions(text: string, given: ReTarget | null, marks: readonly Mark[]): Entity[] {
  const out: Entity[] = [...(given?.entities ?? [])];
  for (const m of marks) {
    if (m.start === null || m.end === null || relationEnds(m.value)) continue;
    const span = { start: m.start, end: m.end };
    if (!out.some((e) => sameSpan(e, span))) out.push({ ...span, type: m.label, text: text.slice(m.start, m.end) });
  }
  return out.sort((a, b) => a.start - b.start || a.end - b.end);
}

const WORD_CHAR = /[\p{L}\p{N}]/u;
const DIGIT = /\p{N}/u;
/** Letters and digits, and a decimal point or comma between digits ("38.9C" is one token). */
function inWord(text: string, i: number): boolean {
  const c = text[i];
  if (c === undefined) return false;
  if (WORD_CHAR.test(c)) return true;
  return (c === '.' || c === ',') && DIGIT.test(text[i - 1] ?? '') && DIGIT.test(text[i + 1] ?? '');
}

/**
 * A selection widened to whole words (tokens) and trimmed of surrounding spaces: selecting "ever"
 * in "fever" marks "fever". Undefined when nothing but space was selected.
 */
export function snapToWords(text: string, start: number, end: number): Span | undefined {
  let s = Math.max(0, Math.min(start, end));
  let e = Math.min(text.length, Math.max(start, end));
  while (s < e && /\s/u.test(text[s]!)) s++;
  while (e > s && /\s/u.test(text[e - 1]!)) e--;
  if (s === e) return undefined;
  while (s > 0 && inWord(text, s - 1) && inWord(text, s)) s--;
  while (e < text.length && inWord(text, e) && inWord(text, e - 1)) e++;
  return { start: s, end: e };
}

/** The words (tokens) of a text as `snapToWords` sees them: runs of letters and digits, "38.9" whole. */
export function wordSpans(text: string): Span[] {
  const words: Span[] = [];
  for (let i = 0; i < text.length; i++) {
    if (!inWord(text, i)) continue;
    const start = i;
    while (i + 1 < text.length && inWord(text, i + 1)) i++;
    words.push({ start, end: i + 1 });
  }
  return words;
}

/** The text a task's spans refer to, and the one a labelling note keeps. */
export function labelledText(type: TaskType, input: TaskInput): string {
  const fields = input as Partial<Record<'text' | 'premise' | 'hypothesis' | 'question' | 'source', string>>;
  if (type === 'nli') return `${fields.premise ?? ''}\n${fields.hypothesis ?? ''}`;
  if (type === 'qa') return fields.question ?? '';
  if (type === 'summarization') return fields.source ?? '';
  return fields.text ?? '';
}

/**
 * The labels a person may give one example: the task's closed labels (NLI's label set, QA's option
 * letters or yes/no/maybe), the entity types for NER, none for summaries (free text).
 */
export function labelChoices(type: TaskType, input: TaskInput, labels: readonly string[]): readonly string[] {
  if (type === 'ner' || type === 're') return labels; // entity types; relation types
  return taskDefinition(type).closedLabels(input as never, labels) ?? [];
}

/**
 * The example's target and label list from its marks (oldest first), or null when none is left.
 * `given` is the example's own target (RE: the mentions it came with). An RE note is labelled once
 * it holds a relation: mentions alone are not yet an answer. Its target has the RE importers' shape
 * (BRAT: relations between entities, plus every entity), so Adapt frames it like an imported one.
 */
export function targetFromMarks(
  type: TaskType,
  input: TaskInput,
  marks: readonly Mark[],
  given: TaskTarget | null = null,
): { target: TaskTarget; labels: string[] } | null {
  if (type === 're') return reTarget(labelledText(type, input), given as ReTarget | null, marks);
  if (marks.length === 0) return null;
  if (type === 'ner') {
    const text = labelledText(type, input);
    const entities: Entity[] = marks
      .filter((m) => m.start !== null && m.end !== null)
      .map((m) => ({ start: m.start!, end: m.end!, type: m.label, text: text.slice(m.start!, m.end!) }))
      .sort((a, b) => a.start - b.start || a.end - b.end);
    return { target: { entities }, labels: entities.map((e) => e.type) };
  }
  const last = marks.at(-1)!;
  if (type === 'summarization') return { target: { summary: String(last.value ?? '') }, labels: [] };
  if (type === 'qa') return { target: { answer: last.label }, labels: [last.label] };
  if (type === 'nli') return { target: { label: last.label }, labels: [last.label] };
  return null;
}

function reTarget(
  text: string,
  given: ReTarget | null,
  marks: readonly Mark[],
): { target: ReTarget; labels: string[] } | null {
  const entities = reMentions(text, given, marks);
  const relations: Relation[] = [...(given?.relations ?? [])];
  for (const m of marks) {
    const ends = relationEnds(m.value);
    const head = ends && entities.find((e) => sameSpan(e, ends.head));
    const tail = ends && entities.find((e) => sameSpan(e, ends.tail));
    // a relation whose mention is gone (undone) is dropped, never saved half
    if (head && tail) relations.push({ type: m.label, head, tail });
  }
  if (relations.length === (given?.relations.length ?? 0)) return null;
  return {
    target: { relations, entities, ...(given?.events && { events: given.events }) },
    labels: relations.map((r) => r.type),
  };
}
