import path from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import type { ReadOptions } from '../../../src-main/data/read-dataset.js';
import { drawSplit, seededDraw, digest } from '../../../src-main/data/stream-dataset.js';
import { DatasetsRepository } from '../../../src-main/store/repositories/datasets.js';
import type { Db } from '../../../src-main/store/sqlite.js';
import { makeTempDir } from '../../support/temp.js';
import { freshDatabase } from '../store/helpers.js';
import { importStreamed, writeTree } from './helpers.js';

const temp = makeTempDir();
afterAll(() => temp.cleanup());
let db: Db | undefined;
afterEach(() => db?.close());

const row = (premise: string, label = 'Entailment', split?: string) =>
  JSON.stringify({ premise, hypothesis: 'h', label, ...(split ? { split } : {}) });

let n = 0;
/** A JSONL source (or a folder of them) in its own folder, imported through the stream into a real encrypted store. */
async function imported(files: Record<string, string[]>, options: Partial<ReadOptions> = {}) {
  const dir = writeTree(
    path.join(temp.dir, `case${++n}`),
    Object.fromEntries(Object.entries(files).map(([name, rows]) => [name, `${rows.join('\n')}\n`])),
  );
  const names = Object.keys(files);
  const source = names.length === 1 ? path.join(dir, names[0]!) : dir;
  db = freshDatabase(dir).db;
  return importStreamed(dir, source, 'jsonl', { task: 'nli', ...options }, db);
}

describe('streamed splits', () => {
  it('draws a split from a seeded hash of the normalised input: reproducible, identical inputs together, ~80/10/10', async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => row(`premise ${i % 1000}`));
    const a = await imported({ 'all.jsonl': rows }, { seed: 7 });
    expect(a.report.splitsDrawn).toBe(true);
    expect(a.report.duplicatesRemoved).toBe(2000);
    // 1,000 distinct inputs: binomial spread around 800/100/100 (4 standard deviations)
    expect(Math.abs(a.counts.train - 800)).toBeLessThan(51);
    expect(Math.abs(a.counts.dev - 100)).toBeLessThan(38);
    expect(a.report.leakage).toMatchObject({ trainDev: 0, trainTest: 0, devTest: 0 });
    const again = await imported(
      { 'all.jsonl': Array.from({ length: 3000 }, (_, i) => row(` PREMISE  ${i % 1000}`)) },
      { seed: 7 },
    );
    const splitOf = (e: { split: string; input: unknown }) =>
      `${(e.input as { premise: string }).premise.replace(/\s+/g, ' ').trim().toLowerCase()}:${e.split}`;
    expect(again.examples.map(splitOf).sort()).toEqual(a.examples.map(splitOf).sort());
    const other = await imported({ 'all.jsonl': rows }, { seed: 8 });
    expect(other.examples.map((e) => e.split)).not.toEqual(a.examples.map((e) => e.split));
  });

  it('draws only the splits a source lacks, restarting once when a later row reveals a given split', async () => {
    const rows = [
      ...Array.from({ length: 300 }, (_, i) => row(`p${i}`)),
      ...Array.from({ length: 40 }, (_, i) => row(`t${i}`, 'Entailment', 'test')),
    ];
    const r = await imported({ 'mixed.jsonl': rows });
    expect(r.restarts).toBe(1);
    expect(r.counts.test).toBe(40);
    expect(
      r.examples
        .filter((e) => e.split === 'test')
        .every((e) => (e.input as { premise: string }).premise.startsWith('t')),
    ).toBe(true);
    expect(r.counts.train + r.counts.dev).toBe(300);
    expect(r.counts.dev).toBeGreaterThan(10);
    // positions are dense per split after the restart
    expect(r.examples.filter((e) => e.split === 'train').map((e) => e.position)).toEqual([
      ...Array(r.counts.train).keys(),
    ]);
  });

  it('moves a seeded share of train to dev for a source with train and test only (files in any order)', async () => {
    const files = {
      'test.jsonl': Array.from({ length: 100 }, (_, i) => row(`t${i}`)),
      'train.jsonl': Array.from({ length: 1000 }, (_, i) => row(`p${i}`)),
    };
    const r = await imported(files, { devFraction: 0.1, seed: 3 });
    expect(r.restarts).toBe(0);
    expect(r.counts.test).toBe(100);
    expect(r.counts.train + r.counts.dev).toBe(1000);
    expect(Math.abs(r.counts.dev - 100)).toBeLessThan(38);
    expect(r.report.splitsDrawn).toBe(false);
    const withDev = await imported(
      { ...files, 'dev.jsonl': Array.from({ length: 5 }, (_, i) => row(`d${i}`)) },
      { devFraction: 0.1, seed: 3 },
    );
    expect(withDev.counts).toMatchObject({ train: 1000, dev: 5, test: 100 }); // dev given: nothing moved
  });

  it('removes exact duplicates within a split, lists conflicts, and reports leakage with the leaked ids', async () => {
    const files = {
      'train.jsonl': [row('a b'), row('a b'), row('a b', 'Contradiction'), row('a b', 'Contradiction'), row('shared')],
      'test.jsonl': [row('Shared'), row('only test')],
      'dev.jsonl': [row('shared ')],
    };
    const r = await imported(files);
    expect(r.report).toMatchObject({ read: 8, duplicatesRemoved: 2, conflictingDuplicates: 1, unlabelled: false });
    expect(r.report.conflicts).toEqual(['train.jsonl:3']);
    expect(r.report.leakage).toEqual({ trainDev: 1, trainTest: 1, devTest: 1, examples: expect.any(Array) });
    expect(r.report.leakage.examples).toHaveLength(2);
    expect(r.labelSet).toEqual(['Contradiction', 'Entailment']);
    expect(r.report.balance.counts.train).toEqual({ Entailment: 2, Contradiction: 1 });
    expect(r.report.balance.missing).toEqual({ train: [], dev: ['Contradiction'], test: ['Contradiction'] });
  });

  it('refuses an empty source, and names the file and line of a malformed row near the end', async () => {
    await expect(imported({ 'empty.jsonl': [''] })).rejects.toThrow(/holds no nli examples/);
    const rows = [...Array.from({ length: 5000 }, (_, i) => row(`p${i}`)), '{"premise": "x", '];
    await expect(imported({ 'bad.jsonl': rows })).rejects.toThrow(/bad\.jsonl, line 5001/);
    expect(new DatasetsRepository(db!).list()).toEqual([]);
    expect(db!.prepare('SELECT count(*) FROM examples').pluck().get()).toBe(0);
  });

  it('hash helpers: a split pool without given splits, and draws in [0, 1)', () => {
    const key = digest({ premise: 'x' });
    expect(key).toHaveLength(8);
    const u = seededDraw('split', 1, key);
    expect(u).toBeGreaterThanOrEqual(0);
    expect(u).toBeLessThan(1);
    expect(drawSplit(0.95, new Set(['test']))).toBe('dev');
    expect(drawSplit(0.5, new Set(['train', 'dev', 'test']))).toBe('train');
  });
});
