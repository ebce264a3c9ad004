/**
 * Entity and relation scores as in the clinical NER/RE literature (e.g. the i2b2/n2c2 and
 * BioCreative evaluations): micro precision/recall/F1 over all mentions, with a per-type
 * breakdown. Strict: same span (all fragments) and type. Lenient: the spans overlap and the type
 * matches, each gold mention matched at most once (greedy, in order).
 * Relations: micro F1 over (head, type, tail) with head and tail compared by normalised text.
 */
import type { Entity, Relation, Span } from '../types.js';
import { addTo, typedPrf, type Counts, type TypedPrf } from './prf.js';

export interface EntityDocument {
  readonly gold: readonly Entity[];
  /** Predictions; unaligned mentions can be passed with start = end = -1 (they never match). */
  readonly predicted: readonly Entity[];
}

export interface NerScores {
  readonly strict: TypedPrf;
  readonly lenient: TypedPrf;
}

function fragmentsOf(entity: Entity): readonly Span[] {
  return entity.fragments ?? [{ start: entity.start, end: entity.end }];
}

function strictKey(entity: Entity): string {
  return `${entity.type}|${fragmentsOf(entity)
    .map((f) => `${f.start}-${f.end}`)
    .join(',')}`;
}

function overlaps(a: Entity, b: Entity): boolean {
  return fragmentsOf(a).some((fa) => fragmentsOf(b).some((fb) => fa.start < fb.end && fb.start < fa.end));
}

/** Per-type counts for one document (used directly by the bootstrap, which resamples documents). */
export function entityDocumentCounts(doc: EntityDocument): {
  strict: Map<string, Counts>;
  lenient: Map<string, Counts>;
} {
  const strict = new Map<string, Counts>();
  const lenient = new Map<string, Counts>();
  for (const e of doc.gold) {
    addTo(strict, e.type, { gold: 1 });
    addTo(lenient, e.type, { gold: 1 });
  }
  for (const e of doc.predicted) {
    addTo(strict, e.type, { predicted: 1 });
    addTo(lenient, e.type, { predicted: 1 });
  }
  const goldKeys = new Map<string, number>();
  for (const e of doc.gold) goldKeys.set(strictKey(e), (goldKeys.get(strictKey(e)) ?? 0) + 1);
  for (const e of doc.predicted) {
    const left = goldKeys.get(strictKey(e)) ?? 0;
    if (left > 0) {
      goldKeys.set(strictKey(e), left - 1);
      addTo(strict, e.type, { tp: 1 });
    }
  }
  const used = new Set<number>();
  for (const g of doc.gold) {
    const match = doc.predicted.findIndex(
      (p, i) => !used.has(i) && p.type === g.type && p.start >= 0 && overlaps(p, g),
    );
    if (match >= 0) {
      used.add(match);
      addTo(lenient, g.type, { tp: 1 });
    }
  }
  return { strict, lenient };
}

function merge(into: Map<string, Counts>, from: ReadonlyMap<string, Counts>): void {
  for (const [type, counts] of from) addTo(into, type, counts);
}

export function nerScores(docs: readonly EntityDocument[]): NerScores {
  const strict = new Map<string, Counts>();
  const lenient = new Map<string, Counts>();
  for (const doc of docs) {
    const counts = entityDocumentCounts(doc);
    merge(strict, counts.strict);
    merge(lenient, counts.lenient);
  }
  return { strict: typedPrf(strict), lenient: typedPrf(lenient) };
}

export interface RelationDocument {
  readonly gold: readonly Relation[];
  readonly predicted: readonly Relation[];
}

function mentionKey(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').trim();
}

function relationKeys(relations: readonly Relation[]): Map<string, string> {
  const keys = new Map<string, string>();
  for (const r of relations)
    keys.set(`${mentionKey(r.head.text)}\u0000${r.type}\u0000${mentionKey(r.tail.text)}`, r.type);
  return keys;
}

/** Relation tuples are sets per document: a tuple stated twice is one relation. */
export function relationDocumentCounts(doc: RelationDocument): Map<string, Counts> {
  const counts = new Map<string, Counts>();
  const gold = relationKeys(doc.gold);
  const predicted = relationKeys(doc.predicted);
  for (const type of gold.values()) addTo(counts, type, { gold: 1 });
  for (const [key, type] of predicted) addTo(counts, type, { predicted: 1, tp: gold.has(key) ? 1 : 0 });
  return counts;
}

export function relationScores(docs: readonly RelationDocument[]): TypedPrf {
  const counts = new Map<string, Counts>();
  for (const doc of docs) merge(counts, relationDocumentCounts(doc));
  return typedPrf(counts);
}
