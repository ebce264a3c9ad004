/**
 * Mention-to-offset alignment: generative NER/RE answers name mentions by their text
 * (`mention [SEP] TYPE`), and scoring needs character offsets in the note. Each distinct
 * (mention, type) maps to every occurrence of the mention in the text, matched exactly first,
 * then ignoring case, then ignoring whitespace differences, and only at word boundaries (so
 * "MI" does not match inside "MIGRAINE"). Targets list each distinct mention once (see
 * serialize.ts), so serialising gold entities and aligning them back gives the gold offsets.
 */
import type { Entity, Span } from './types.js';

export interface Mention {
  readonly text: string;
  readonly type: string;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const WORD_CHAR = /[\p{L}\p{N}]/u;

function atWordBoundary(text: string, start: number, end: number, mention: string): boolean {
  const first = mention[0] ?? '';
  const last = mention[mention.length - 1] ?? '';
  const before = text[start - 1];
  const after = text[end];
  const leftOk = !WORD_CHAR.test(first) || before === undefined || !WORD_CHAR.test(before);
  const rightOk = !WORD_CHAR.test(last) || after === undefined || !WORD_CHAR.test(after);
  return leftOk && rightOk;
}

/** Every word-bounded occurrence of `mention` in `text`, trying stricter matchers first. */
export function findOccurrences(text: string, mention: string): Span[] {
  const trimmed = mention.trim();
  if (trimmed === '') return [];
  const flexible = escapeRegExp(trimmed).replace(/\s+/g, '\\s+');
  const patterns = [new RegExp(escapeRegExp(trimmed), 'gu'), new RegExp(escapeRegExp(trimmed), 'giu')];
  if (/\s/.test(trimmed)) patterns.push(new RegExp(flexible, 'giu'));
  for (const pattern of patterns) {
    const spans: Span[] = [];
    for (const match of text.matchAll(pattern)) {
      const start = match.index;
      const end = start + match[0].length;
      if (atWordBoundary(text, start, end, trimmed)) spans.push({ start, end });
    }
    if (spans.length > 0) return spans;
  }
  return [];
}

export interface Alignment {
  readonly entities: Entity[];
  /** Mentions whose text does not occur in the note: counted as false positives by the metrics. */
  readonly unaligned: Mention[];
}

/** Aligns mentions to offsets; duplicates (same occurrence and type) collapse to one entity. */
export function alignMentions(text: string, mentions: readonly Mention[]): Alignment {
  const seen = new Set<string>();
  const entities: Entity[] = [];
  const unaligned: Mention[] = [];
  const seenUnaligned = new Set<string>();
  for (const mention of mentions) {
    const spans = findOccurrences(text, mention.text);
    if (spans.length === 0) {
      const key = `${mention.text.trim().toLowerCase()}\u0000${mention.type}`;
      if (!seenUnaligned.has(key)) unaligned.push(mention);
      seenUnaligned.add(key);
      continue;
    }
    for (const span of spans) {
      const key = `${span.start}:${span.end}:${mention.type}`;
      if (seen.has(key)) continue;
      seen.add(key);
      entities.push({ ...span, type: mention.type, text: text.slice(span.start, span.end) });
    }
  }
  entities.sort((a, b) => a.start - b.start || a.end - b.end || a.type.localeCompare(b.type));
  return { entities, unaligned };
}
