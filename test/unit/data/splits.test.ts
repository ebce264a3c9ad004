import { describe, expect, it } from 'vitest';

import {
  assignSplits,
  balanceReport,
  deduplicate,
  drawDevFromTrain,
  leakageCheck,
  sampleKShot,
} from '../../../src-main/data/splits.js';
import type { RawExample } from '../../../src-main/data/source.js';
import type { Example } from '../../../src-main/tasks/types.js';

const nli = (i: number, label: string, extra: Partial<RawExample> = {}): RawExample => ({
  externalId: `e${i}`,
  input: { premise: `premise ${i}`, hypothesis: 'h' },
  target: { label },
  labels: [label],
  ...extra,
});

describe('splits', () => {
  it('draws 80/10/10 with a seed when the source has no splits, reproducibly', () => {
    const raw = Array.from({ length: 1000 }, (_, i) => nli(i, i % 3 === 0 ? 'Entailment' : 'Contradiction'));
    const a = assignSplits(raw, 7);
    const count = (s: string) => a.filter((e) => e.split === s).length;
    expect([count('train'), count('dev'), count('test')]).toEqual([800, 100, 100]);
    expect(assignSplits(raw, 7)).toEqual(a);
    expect(assignSplits(raw, 8).map((e) => e.split)).not.toEqual(a.map((e) => e.split));
  });

  it('draws examples with the same input into the same split (no leakage of its own making)', () => {
    const raw = Array.from({ length: 400 }, (_, i) => nli(i % 100, 'x'));
    const a = assignSplits(raw, 3);
    for (let i = 0; i < 100; i++) expect(new Set([0, 1, 2, 3].map((r) => a[r * 100 + i]?.split)).size).toBe(1);
    expect(leakageCheck(a)).toMatchObject({ trainDev: 0, trainTest: 0, devTest: 0 });
    expect(a.filter((e) => e.split === 'train')).toHaveLength(320);
  });

  it('draws dev from train for sources without one, leaving test alone', () => {
    const given = [
      ...assignSplits(
        Array.from({ length: 200 }, (_, i) => nli(i, 'x', { split: 'train' })),
        0,
      ),
      ...assignSplits(
        Array.from({ length: 50 }, (_, i) => nli(500 + i, 'x', { split: 'test' })),
        0,
      ),
    ];
    const drawn = drawDevFromTrain(given, 0.1, 5);
    expect(drawn.filter((e) => e.split === 'dev')).toHaveLength(20);
    expect(drawn.filter((e) => e.split === 'train')).toHaveLength(180);
    expect(drawn.slice(200).every((e) => e.split === 'test')).toBe(true);
    expect(drawDevFromTrain(drawn, 0.1, 5)).toEqual(drawn); // a dev split exists now: unchanged
  });

  it('keeps given splits and draws only the missing ones', () => {
    const raw = [
      ...Array.from({ length: 90 }, (_, i) => nli(i, 'x')),
      ...Array.from({ length: 10 }, (_, i) => nli(100 + i, 'x', { split: 'test' })),
    ];
    const a = assignSplits(raw, 1);
    expect(a.slice(90).every((e) => e.split === 'test')).toBe(true);
    expect(a.filter((e) => e.split === 'train')).toHaveLength(80);
    expect(a.filter((e) => e.split === 'dev')).toHaveLength(10);
  });
});

describe('de-duplication, leakage and balance', () => {
  const ex = (i: number, split: Example['split'], label: string, premise = `premise ${i}`): Example => ({
    split,
    externalId: `e${i}`,
    input: { premise, hypothesis: 'h' },
    target: { label },
    labels: [label],
  });

  it('removes exact duplicates within a split (case and spacing count), keeps each conflicting target once and lists it', () => {
    const result = deduplicate([
      ex(1, 'train', 'A'),
      ex(2, 'train', 'A', 'PREMISE  1'),
      ex(3, 'train', 'B', 'premise 1'),
      ex(4, 'test', 'A', 'premise 1'),
      ex(5, 'train', 'A', 'premise 1'),
      ex(6, 'train', 'B', 'premise 1'),
    ]);
    expect(result.removed).toBe(2);
    expect(result.conflicting).toBe(1);
    expect(result.conflicts).toEqual(['e3']);
    expect(result.examples.map((e) => e.externalId)).toEqual(['e1', 'e2', 'e3', 'e4']);
  });

  it('finds inputs shared between splits', () => {
    const report = leakageCheck([
      ex(1, 'train', 'A'),
      ex(2, 'test', 'A', 'premise 1'),
      ex(3, 'dev', 'A', 'premise 1'),
      ex(4, 'dev', 'B'),
    ]);
    expect(report).toEqual({ trainDev: 1, trainTest: 1, devTest: 1, examples: ['e2', 'e3'] });
  });

  it('reports label counts per split, the imbalance ratio and labels a split lacks', () => {
    const report = balanceReport(
      [ex(1, 'train', 'A'), ex(2, 'train', 'A'), ex(3, 'train', 'A'), ex(4, 'train', 'B'), ex(5, 'test', 'A')],
      ['A', 'B'],
    );
    expect(report.counts.train).toEqual({ A: 3, B: 1 });
    expect(report.imbalanceRatio).toBe(3);
    expect(report.missing).toEqual({ train: [], dev: [], test: ['B'] });
  });
});

describe('k-shot sampling', () => {
  const pool = Array.from({ length: 300 }, (_, i) => ({ id: i, labels: [['yes', 'no', 'maybe'][i % 3] as string] }));

  it('draws k per label with a seed; different seeds give different draws', () => {
    const draw = sampleKShot(pool, { k: 5, seed: 1, perLabel: true });
    expect(draw).toHaveLength(15);
    for (const label of ['yes', 'no', 'maybe']) expect(draw.filter((e) => e.labels[0] === label)).toHaveLength(5);
    expect(sampleKShot(pool, { k: 5, seed: 1, perLabel: true })).toEqual(draw);
    expect(sampleKShot(pool, { k: 5, seed: 2, perLabel: true })).not.toEqual(draw);
    expect(sampleKShot(pool, { k: 10, seed: 3 })).toHaveLength(10);
  });

  it('counts a multi-label example (NER) for each of its labels', () => {
    const ner = [
      { labels: ['Disease', 'Chemical'] },
      { labels: ['Disease'] },
      { labels: ['Chemical'] },
      { labels: [] as string[] },
    ];
    const draw = sampleKShot(ner, { k: 1, seed: 4, perLabel: true });
    const covered = new Set(draw.flatMap((e) => e.labels));
    expect(covered).toEqual(new Set(['Disease', 'Chemical']));
    expect(draw.length).toBeLessThanOrEqual(2);
  });
});
