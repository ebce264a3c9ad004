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
 * else the first free digit. Letters keep "p" for "problem" memorable; u and z are left for undo, a and x for
 * accepting and rejecting the model's suggestion.
 */
export function spanKeys(labels: readonly string[]): Map<string, string> {
  const keys = new Map<string, string>();
  const reserved = new Set(['u', 'z', 'a', 'x']); // undo; accept and reject a suggestion
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

/** Keys typed into a field are text, never labels. */
export function typedInField(event: Event): boolean {
  return event.target instanceof Element && event.target.closest('input, textarea, select') !== null;
}

/** What a span's key or button says when no words are selected. */
export const NOTHING_SELECTED =
  'Selection: select the words of the mention in the note first (with the mouse, or with the arrow keys in the note).';

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
  /** Inside the keyboard's word selection. */
  readonly cursor?: boolean;
  /** The last run of its mark (where its label is shown). */
  readonly markEnd?: boolean;
}

/** Where the keyboard's word selection is: anchor and focus are indexes of `LabelItemView.words`. */
export interface WordCursor {
  readonly anchor: number;
  readonly focus: number;
}

/**
 * The word cursor after a key press: arrows move it one word (Home, End to the ends), Shift
 * extends the selection from its anchor. Undefined when the key does not move it.
 */
export function moveCursor(
  cursor: WordCursor | undefined,
  words: number,
  event: { key: string; shiftKey: boolean },
): WordCursor | undefined {
  if (words === 0) return undefined;
  const last = words - 1;
  const from = cursor?.focus;
  const focus =
    event.key === 'Home'
      ? 0
      : event.key === 'End'
        ? last
        : event.key === 'ArrowRight'
          ? from === undefined
            ? 0
            : Math.min(last, from + 1)
          : event.key === 'ArrowLeft'
            ? from === undefined
              ? last
              : Math.max(0, from - 1)
            : undefined;
  if (focus === undefined) return undefined;
  return { anchor: event.shiftKey && cursor ? cursor.anchor : focus, focus };
}

/** The characters the word cursor selects, from its first word's start to its last word's end. */
export function cursorSpan(
  words: readonly { start: number; end: number }[],
  cursor: WordCursor,
): { start: number; end: number } | undefined {
  const first = words[Math.min(cursor.anchor, cursor.focus)];
  const lastWord = words[Math.max(cursor.anchor, cursor.focus)];
  return first && lastWord ? { start: first.start, end: lastWord.end } : undefined;
}

/**
 * The text cut into plain and highlighted runs; a span overlapping an earlier one is shown from
 * where that one ends. Runs are cut again where the keyboard's selection `cursor` starts and ends.
 */
export function segments(
  text: string,
  marks: readonly LabelMarkView[],
  cursor?: { start: number; end: number },
): Segment[] {
  const runs = markRuns(text, marks);
  if (!cursor) return runs;
  return runs.flatMap((r) => {
    const cuts = [r.start, ...[cursor.start, cursor.end].filter((c) => c > r.start && c < r.end), r.end];
    return cuts.slice(1).map((end, i) => {
      const start = cuts[i]!;
      const inside = start >= cursor.start && end <= cursor.end;
      return {
        ...r,
        start,
        end,
        text: text.slice(start, end),
        ...(inside && { cursor: true }),
        ...(r.markEnd !== undefined && { markEnd: r.markEnd && end === r.end }),
      };
    });
  });
}

function markRuns(text: string, marks: readonly LabelMarkView[]): Segment[] {
  const spans = marks
    .filter((m): m is LabelMarkView & { start: number; end: number } => m.start !== null && m.end !== null)
    .sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Segment[] = [];
  let at = 0;
  for (const m of spans) {
    const start = Math.max(m.start, at);
    if (start >= m.end) continue;
    if (start > at) out.push({ start: at, end: start, text: text.slice(at, start) });
    out.push({ start, end: m.end, text: text.slice(start, m.end), label: m.label, markId: m.id, markEnd: true });
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

/** RE: the key that marks the selected words as a mention. */
export const MENTION_KEY = 'm';

export interface Mention {
  readonly start: number;
  readonly end: number;
  readonly type: string;
  readonly text: string;
}

type SpanLike = { readonly start: number; readonly end: number };
const same = (a: SpanLike | undefined, b: SpanLike | undefined): boolean =>
  a !== undefined && b !== undefined && a.start === b.start && a.end === b.end;

/**
 * RE: the note's mentions a relation may join, in text order, each span once: those the example
 * came with, then those marked in the app (relations themselves have no span).
 */
export function mentionsOf(item: {
  readonly text: string;
  readonly entities?: readonly { start: number; end: number; type: string }[];
  readonly marks: readonly LabelMarkView[];
}): Mention[] {
  const out: Mention[] = [];
  const spans = [
    ...(item.entities ?? []),
    ...item.marks.flatMap((m) =>
      m.start === null || m.end === null ? [] : [{ start: m.start, end: m.end, type: m.label }],
    ),
  ];
  for (const s of spans) if (!out.some((o) => same(o, s))) out.push({ ...s, text: item.text.slice(s.start, s.end) });
  return out.sort((a, b) => a.start - b.start || a.end - b.end);
}

/** The relation being drawn: its first (head) and second (tail) mention, as far as picked. */
export interface RelationPick {
  readonly head?: SpanLike;
  readonly tail?: SpanLike;
}

/**
 * Picking a mention: the first pick is the head, the next another mention's tail; picking the head
 * again lets it go, and a pick after both starts a new relation from it.
 */
export function pickMention(pick: RelationPick, span: SpanLike): RelationPick {
  if (!pick.head || pick.tail) return { head: span };
  if (same(pick.head, span)) return {};
  return { head: pick.head, tail: span };
}

/** Where an arrow key moves the focus in the list of mentions (wrapping), or undefined for other keys. */
export function moveInList(index: number, count: number, key: string): number | undefined {
  if (count === 0) return undefined;
  if (key === 'ArrowDown' || key === 'ArrowRight') return (index + 1) % count;
  if (key === 'ArrowUp' || key === 'ArrowLeft') return (index - 1 + count) % count;
  if (key === 'Home') return 0;
  if (key === 'End') return count - 1;
  return undefined;
}

/** How a mark reads in the list of labels: a relation as "head → TYPE → tail", a span with its text. */
export function describeMark(mark: LabelMarkView, text: string): string {
  if (mark.head && mark.tail)
    return `"${text.slice(mark.head.start, mark.head.end)}" → ${mark.label} → "${text.slice(mark.tail.start, mark.tail.end)}"`;
  return mark.start === null ? mark.label : `${mark.label} "${text.slice(mark.start, mark.end ?? mark.start)}"`;
}

/** RE: the key that reverses a relation's direction (head <-> tail). */
export const REVERSE_KEY = 'r';

/** The saved relations among an example's marks, oldest first. */
export function relationsOf(marks: readonly LabelMarkView[]): LabelMarkView[] {
  return marks.filter((m) => m.head !== undefined && m.tail !== undefined);
}

/**
 * What the reverse key turns round: the relation being drawn once both its mentions are picked
 * (its ends swap before it is saved), else the selected saved relation, else the newest one.
 */
export function toReverse(
  pick: RelationPick,
  marks: readonly LabelMarkView[],
  selected: number | undefined,
): { readonly drawn: RelationPick } | { readonly saved: number } | undefined {
  if (pick.head && pick.tail) return { drawn: { head: pick.tail, tail: pick.head } };
  const relations = relationsOf(marks);
  const chosen = relations.find((m) => m.id === selected) ?? relations.at(-1);
  return chosen ? { saved: chosen.id } : undefined;
}
