/**
 * Long-note handling: notes longer than the backbone's context are cut into overlapping windows.
 * Each cut falls on whitespace, and each window starts at least `overlap` characters before the
 * previous window's end, so every mention no longer than `overlap` lies wholly inside some window
 * (the last window starting at or before the mention either contains it, or the next window starts
 * before it). Predictions from the windows are shifted back and merged; a mention truncated by a
 * window edge is subsumed by the whole one from the neighbouring window.
 */
import { parseNer } from './parse.js';
import { frameExample, framePrompt, type FramedExample, type TaskConfig } from './registry.js';
import type { Entity, Span } from './types.js';

export interface WindowOptions {
  /** Longest window, in characters. */
  readonly size: number;
  /** Characters shared by neighbouring windows; must exceed the longest mention. */
  readonly overlap: number;
}

const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c);

export function slidingWindows(text: string, options: WindowOptions): Span[] {
  const { size, overlap } = options;
  if (!(overlap >= 0 && size > 2 * overlap)) {
    throw new Error(`Window size ${size} must exceed twice the overlap ${overlap}`);
  }
  const windows: Span[] = [];
  let start = 0;
  for (;;) {
    let end = Math.min(start + size, text.length);
    if (end < text.length) {
      // Cut at the last whitespace that still leaves room for the overlap.
      let cut = end;
      while (cut > start + 2 * overlap && !isSpace(text[cut])) cut--;
      if (isSpace(text[cut])) end = cut;
    }
    windows.push({ start, end });
    if (end >= text.length) return windows;
    // Start `overlap` before the end, moved back to the start of the word it falls in.
    let next = end - overlap;
    while (next > start + 1 && !isSpace(text[next - 1])) next--;
    start = Math.max(next, start + 1);
  }
}

export interface EntityWindow {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  /** Entities wholly inside the window, offsets relative to the window. */
  readonly entities: Entity[];
}

function shift<E extends Entity>(entity: E, by: number): E {
  return {
    ...entity,
    start: entity.start + by,
    end: entity.end + by,
    ...(entity.fragments ? { fragments: entity.fragments.map((f) => ({ start: f.start + by, end: f.end + by })) } : {}),
  };
}

/** Cuts a labelled note into windows; each entity goes to every window that wholly contains it. */
export function windowEntities(text: string, entities: readonly Entity[], options: WindowOptions): EntityWindow[] {
  return slidingWindows(text, options).map(({ start, end }) => ({
    start,
    end,
    text: text.slice(start, end),
    entities: entities.filter((e) => e.start >= start && e.end <= end).map((e) => shift(e, -start)),
  }));
}

/**
 * Merges per-window predictions into note offsets: exact duplicates collapse, and a mention that
 * touches its window's edge and lies inside a longer one of the same type (it was cut by the edge)
 * is dropped. Nested mentions away from the edges are kept.
 */
export function mergeWindowEntities(
  windows: readonly { start: number; end: number; entities: readonly Entity[] }[],
): Entity[] {
  const unique = new Map<string, { entity: Entity; atEdge: boolean }>();
  for (const w of windows) {
    for (const local of w.entities) {
      const entity = shift(local, w.start);
      const key = `${entity.start}:${entity.end}:${entity.type}`;
      const atEdge = entity.start === w.start || entity.end === w.end;
      const previous = unique.get(key);
      unique.set(key, { entity, atEdge: previous ? previous.atEdge && atEdge : atEdge });
    }
  }
  const candidates = [...unique.values()];
  const kept = candidates.filter(
    ({ entity: e, atEdge }) =>
      !atEdge ||
      !candidates.some(
        ({ entity: o }) =>
          o.type === e.type && o.start <= e.start && o.end >= e.end && o.end - o.start > e.end - e.start,
      ),
  );
  return kept.map((k) => k.entity).sort((a, b) => a.start - b.start || a.end - b.end);
}

/** Training targets for a long note: one framed example per window, holding the mentions wholly inside it. */
export function frameNerWindows(
  config: TaskConfig<'ner'>,
  text: string,
  entities: readonly Entity[],
  options: WindowOptions,
): (FramedExample & { readonly start: number })[] {
  return windowEntities(text, entities, options).map((w) => ({
    start: w.start,
    ...frameExample(config, { text: w.text }, { entities: w.entities }),
  }));
}

/**
 * NER over a long note: each window is framed and generated separately (`generate` is the
 * backbone), each answer is parsed and aligned within its window, and the mentions are merged
 * back into note offsets. Windows whose answer could not be read are reported by index.
 */
export async function predictNerLongNote(
  config: TaskConfig<'ner'>,
  text: string,
  options: WindowOptions,
  generate: (prompt: string) => Promise<string>,
): Promise<{ entities: Entity[]; unreadableWindows: number[] }> {
  const windows = slidingWindows(text, options);
  const predictions: { start: number; end: number; entities: readonly Entity[] }[] = [];
  const unreadableWindows: number[] = [];
  for (const [i, w] of windows.entries()) {
    const windowText = text.slice(w.start, w.end);
    const parsed = parseNer(await generate(framePrompt(config, { text: windowText })), windowText, config.labels);
    if (!parsed.ok) unreadableWindows.push(i);
    predictions.push({ ...w, entities: parsed.value.entities });
  }
  return { entities: mergeWindowEntities(predictions), unreadableWindows };
}
