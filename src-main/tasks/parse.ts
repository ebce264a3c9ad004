/**
 * Robust output parsers: turn what a model generated back into task values. They forgive case,
 * whitespace, list bullets, quotes, near-miss labels and repeated lines; what still cannot be read
 * is kept (`raw`, `problems`) and scored as wrong, never dropped silently (DESIGN.md section 2:
 * "Unparseable outputs count as wrong, and are shown to the user").
 */
import { alignMentions, type Mention } from './align.js';
import { matchLabel, normalizeLabelText } from './labels.js';
import type { Entity, Relation } from './types.js';

export interface Parsed<T> {
  /** False when the output as a whole could not be read; the prediction then counts as wrong. */
  readonly ok: boolean;
  readonly value: T;
  /** Lines or reasons that could not be used (shown to the user, no effect on `value`). */
  readonly problems: readonly string[];
  readonly raw: string;
}

const BULLET = /^\s*(?:[-*\u2022]|\d+[.)])\s+/;

function answerLines(output: string): string[] {
  return output
    .split(/\r?\n/)
    .map((line) => line.replace(BULLET, '').trim())
    .filter((line) => line !== '');
}

function isNone(lines: readonly string[]): boolean {
  return (
    lines.length === 1 && ['none', 'no entities', 'no relations', 'n/a'].includes(normalizeLabelText(lines[0] ?? ''))
  );
}

function stripQuotes(text: string): string {
  return text
    .trim()
    .replace(/^["'`\u201c\u2018]+|["'`\u201d\u2019]+$/g, '')
    .trim();
}

/** Splits `mention [SEP] TYPE`; also accepts a tab or ` | ` as the separator. */
function splitNerLine(line: string): [string, string] | undefined {
  const parts = line.split(/\s*\[\s*sep\s*\]\s*|\t|\s+\|\s+/i);
  if (parts.length < 2) return undefined;
  const type = parts.pop() ?? '';
  return [parts.join(' '), type];
}

export interface NerPrediction {
  readonly entities: readonly Entity[];
  readonly unaligned: readonly Mention[];
}

export function parseNer(output: string, text: string, labels: readonly string[]): Parsed<NerPrediction> {
  const lines = answerLines(output);
  if (isNone(lines)) return { ok: true, value: { entities: [], unaligned: [] }, problems: [], raw: output };
  const mentions: Mention[] = [];
  const problems: string[] = [];
  for (const line of lines) {
    const split = splitNerLine(line);
    const type = split ? matchLabel(split[1], labels) : undefined;
    const mention = split ? stripQuotes(split[0]) : '';
    if (!split || type === undefined || mention === '') {
      problems.push(line);
      continue;
    }
    mentions.push({ text: mention, type });
  }
  const { entities, unaligned } = alignMentions(text, mentions);
  return { ok: mentions.length > 0, value: { entities, unaligned }, problems, raw: output };
}

export interface RePrediction {
  readonly relations: readonly Relation[];
}

/** `head ; RELATION ; tail` per line; head and tail are aligned to their first occurrence when found. */
export function parseRe(output: string, text: string, labels: readonly string[]): Parsed<RePrediction> {
  const lines = answerLines(output);
  if (isNone(lines)) return { ok: true, value: { relations: [] }, problems: [], raw: output };
  const relations: Relation[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const line of lines) {
    const parts = line.split(/\s*;\s*/);
    const type = parts.length >= 3 ? matchLabel(parts[1] ?? '', labels) : undefined;
    const head = stripQuotes(parts[0] ?? '');
    const tail = stripQuotes(parts.slice(2).join(' ; '));
    if (type === undefined || head === '' || tail === '') {
      problems.push(line);
      continue;
    }
    const key = `${head.toLowerCase()}\u0000${type}\u0000${tail.toLowerCase()}`;
    if (seen.has(key)) continue;
    seen.add(key);
    relations.push({ type, head: locate(text, head), tail: locate(text, tail) });
  }
  return { ok: relations.length > 0, value: { relations }, problems, raw: output };
}

function locate(text: string, mention: string): Entity {
  const [first] = alignMentions(text, [{ text: mention, type: '' }]).entities;
  return first ?? { start: -1, end: -1, type: '', text: mention };
}

/**
 * A closed label (NLI, yes/no/maybe, RE with a given pair): the first line matched to the label
 * set, else a label that occurs alone as a word in the output ("The answer is yes.").
 */
export function parseLabel(output: string, labels: readonly string[]): Parsed<string | null> {
  const lines = answerLines(output);
  const first = lines[0] ?? '';
  const direct = matchLabel(first, labels);
  if (direct !== undefined) return { ok: true, value: direct, problems: [], raw: output };
  const haystack = ` ${normalizeLabelText(lines.join(' '))} `;
  const mentioned = labels.filter((label) => haystack.includes(` ${normalizeLabelText(label)} `));
  if (mentioned.length === 1) return { ok: true, value: mentioned[0] ?? null, problems: [], raw: output };
  return {
    ok: false,
    value: null,
    problems: [mentioned.length > 1 ? 'names more than one label' : 'names no allowed label'],
    raw: output,
  };
}

export function optionLetter(index: number): string {
  return String.fromCharCode(65 + index);
}

/** A multiple-choice answer: an option letter ("B", "(b)", "Answer: B.") or the text of one option. */
export function parseOptionAnswer(output: string, options: readonly string[]): Parsed<string | null> {
  const letters = options.map((_, i) => optionLetter(i));
  const first = (answerLines(output)[0] ?? '').replace(
    /^(?:the\s+)?(?:correct\s+)?(?:answer|option)\s*(?:is)?\s*:?\s*/i,
    '',
  );
  // A capital letter alone or followed by ")", ".", ":" or a space; a lower-case one only as "(b)" or "b)"
  // ("a beta blocker" is an article, not option A).
  const match = /^\(?([A-Z])(?:[).:\s]|$)|^\(?([a-z])\)/.exec(first);
  const letter = (match?.[1] ?? match?.[2])?.toUpperCase();
  if (letter !== undefined && letters.includes(letter)) return { ok: true, value: letter, problems: [], raw: output };
  const byText = matchLabel(first, options);
  if (byText !== undefined)
    return { ok: true, value: optionLetter(options.indexOf(byText)), problems: [], raw: output };
  return { ok: false, value: null, problems: ['names no option'], raw: output };
}

/** A free answer or summary: the trimmed text (empty output is unparseable). */
export function parseFreeText(output: string): Parsed<string> {
  const text = output.trim();
  return { ok: text !== '', value: text, problems: text === '' ? ['empty output'] : [], raw: output };
}
