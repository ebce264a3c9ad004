/**
 * Labels a person makes in the app, turned into an example's target: spans snapped to whole words
 * (NER), a note-level label (NLI, QA), a reference summary. Marks arrive in the order they were
 * made; for a note-level label the newest wins, so undoing it brings the previous one back.
 * Text and labels only: the store keeps the marks, training reads the target made here.
 */
import { taskDefinition } from './registry.js';
import type { Entity, Span, TaskInput, TaskTarget, TaskType } from './types.js';

/** One label as made: a span of the note's text, or (start/end null) the whole note. */
export interface Mark {
  readonly label: string;
  readonly start: number | null;
  readonly end: number | null;
  /** The summary's text, for summarisation. */
  readonly value?: unknown;
}

/** Task types labelled in this version; RE needs relation drawing, which is not built yet. */
export const LABELLED_TASKS: readonly TaskType[] = ['ner', 'nli', 'qa', 'summarization'];

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
  if (type === 'ner') return labels;
  return taskDefinition(type).closedLabels(input as never, labels) ?? [];
}

/** The example's target and label list from its marks (oldest first), or null when none is left. */
export function targetFromMarks(
  type: TaskType,
  input: TaskInput,
  marks: readonly Mark[],
): { target: TaskTarget; labels: string[] } | null {
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
