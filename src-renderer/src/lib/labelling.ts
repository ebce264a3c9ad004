/**
 * The labelling widgets' logic, kept out of the components so that it is tested as plain code:
 * which key gives which label, how a note's text splits around its highlighted spans, and how far
 * the person is towards the examples they meant to label. Spans are snapped to whole words by the
 * service (tasks/labelling.ts), which saves them; the page only shows what came back.
 */
import type { LabelMarkView } from '../../../src-main/ipc/contract.js';

/** Choice labels get 1..9 in order; more than nine choices have no key (buttons still work). */
export function choiceKeys(choices: readonly string[]): Map<string, string> {
  return new Map(choices.slice(0, 9).map((c, i) => [String(i + 1), c]));
}

/**
 * Entity types get a letter each: the first letter of the type not taken by an earlier type,
 * else the first free digit. Letters keep "p" for "problem" memorable; u and z are left for undo.
 */
export function spanKeys(labels: readonly string[]): Map<string, string> {
  const keys = new Map<string, string>();
  const reserved = new Set(['u', 'z']);
  for (const label of labels) {
    const letter = [...label.toLowerCase()].find((c) => /[a-z]/.test(c) && !keys.has(c) && !reserved.has(c));
    const digit = [...'123456789'].find((d) => !keys.has(d));
    const key = letter ?? digit;
    if (key !== undefined) keys.set(key, label);
  }
  return keys;
}

/** The label a key press gives, if any (modifier keys never label: they belong to the browser). */
export function labelForKey(
  keys: ReadonlyMap<string, string>,
  event: { key: string; ctrlKey: boolean; metaKey: boolean; altKey: boolean },
): string | undefined {
  if (event.ctrlKey || event.metaKey || event.altKey) return undefined;
  return keys.get(event.key.toLowerCase());
}

/** Whether a key press asks to undo the last label: Ctrl/Cmd+Z, or U on its own. */
export function isUndoKey(event: { key: string; ctrlKey: boolean; metaKey: boolean; altKey: boolean }): boolean {
  const key = event.key.toLowerCase();
  return (
    (key === 'z' && (event.ctrlKey || event.metaKey)) ||
    (key === 'u' && !event.ctrlKey && !event.metaKey && !event.altKey)
  );
}

export interface Segment {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  /** The span's label when the segment is highlighted. */
  readonly label?: string;
  readonly markId?: number;
}

/** The text cut into plain and highlighted runs; a span overlapping an earlier one is shown from where that one ends. */
export function segments(text: string, marks: readonly LabelMarkView[]): Segment[] {
  const spans = marks
    .filter((m): m is LabelMarkView & { start: number; end: number } => m.start !== null && m.end !== null)
    .sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Segment[] = [];
  let at = 0;
  for (const m of spans) {
    const start = Math.max(m.start, at);
    if (start >= m.end) continue;
    if (start > at) out.push({ start: at, end: start, text: text.slice(at, start) });
    out.push({ start, end: m.end, text: text.slice(start, m.end), label: m.label, markId: m.id });
    at = m.end;
  }
  if (at < text.length || out.length === 0) out.push({ start: at, end: text.length, text: text.slice(at) });
  return out;
}

/** Progress towards k labelled examples, in words and as a 0..1 share. */
export function progress(labelled: number, k: number): { text: string; share: number } {
  const target = Math.max(1, k);
  return {
    text: `${labelled} of ${target} examples labelled${labelled >= target ? ': enough to adapt' : ''}`,
    share: Math.min(1, labelled / target),
  };
}
