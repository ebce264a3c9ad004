/**
 * Splits and file choice as real corpora need them: a single file named after a split keeps that
 * split (or --draw-splits draws), drawn splits keep a document's sentences or a --group-by value
 * together, --include/--exclude pick a folder's files, and --skip-bad-rows imports what parses and
 * lists each record it skipped. Imports go through the stream into a real encrypted store.
 */
import path from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import type { ImportFormat } from '../../../src-main/common/vocabulary.js';
import type { ReadOptions } from '../../../src-main/data/read-dataset.js';
import { makeTempDir } from '../../support/temp.js';
import { closeDatabases, importStreamed, writeTree } from './helpers.js';

const temp = makeTempDir();
afterAll(() => temp.cleanup());
afterEach(closeDatabases);

let n = 0;
async function imported(files: Record<string, string>, source: string, format: ImportFormat, options: ReadOptions) {
  const dir = writeTree(path.join(temp.dir, `case${++n}`), files);
  return importStreamed(dir, path.join(dir, source), format, options);
}

const NLI = { task: 'nli' } as const;
const nli = (premise: string, extra: Record<string, string> = {}) =>
  JSON.stringify({ premise, hypothesis: 'h', label: 'Entailment', ...extra });

describe('splits', () => {
  it('a single file named after a split keeps it; --draw-splits draws instead', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => nli(`p${i}`)).join('\n');
    const named = await imported({ 'dev.jsonl': rows }, 'dev.jsonl', 'jsonl', NLI);
    expect(named.counts).toMatchObject({ train: 0, dev: 200, test: 0 });
    expect(named.report.splitsDrawn).toBe(false);
    const drawn = await imported({ 'dev.jsonl': rows }, 'dev.jsonl', 'jsonl', { ...NLI, drawSplits: true });
    expect(drawn.counts.train).toBeGreaterThan(120);
    expect(drawn.counts.dev + drawn.counts.test).toBeGreaterThan(10);
    expect(drawn.report.splitsDrawn).toBe(true);
  });

  it('--group-by keeps every row of a document in one drawn split', async () => {
    // 60 documents of 8 sentence rows each.
    const rows = Array.from({ length: 480 }, (_, i) => `doc${Math.floor(i / 8)},sentence ${i},h,Entailment`);
    const files = { 'pairs.csv': ['doc_id,premise,hypothesis,label', ...rows].join('\n') };
    const splitsPerDocument = (examples: { externalId: string | null; split: string }[]) => {
      const byDoc = new Map<string, Set<string>>();
      for (const e of examples) {
        const doc = `doc${Math.floor((Number(e.externalId) - 2) / 8)}`; // the id is the CSV line
        byDoc.set(doc, (byDoc.get(doc) ?? new Set()).add(e.split));
      }
      return [...byDoc.values()].map((s) => s.size);
    };
    const grouped = await imported(files, 'pairs.csv', 'csv', { ...NLI, groupBy: 'doc_id' });
    expect(grouped.counts.total).toBe(480);
    expect(grouped.counts.dev + grouped.counts.test).toBeGreaterThan(0);
    expect(splitsPerDocument(grouped.examples).every((size) => size === 1)).toBe(true);
    const ungrouped = await imported(files, 'pairs.csv', 'csv', NLI);
    expect(splitsPerDocument(ungrouped.examples).some((size) => size > 1)).toBe(true);
    await expect(imported(files, 'pairs.csv', 'csv', { ...NLI, groupBy: 'document' })).rejects.toThrow(
      /--group-by: .*pairs\.csv has no column "document"; its columns are doc_id, premise, hypothesis, label\./,
    );
  });

  it('pair-wise RE: every entity pair of one sentence is drawn into one split', async () => {
    const rows = Array.from({ length: 100 }, (_, i) =>
      [
        `<< aspirin${i} >> inhibits [[ COX${i} ]] and PTGS${i}.`,
        `<< aspirin${i} >> inhibits COX${i} and [[ PTGS${i} ]].`,
      ].map((text) => JSON.stringify({ text, label: 'INHIBITOR' })),
    ).flat();
    const result = await imported({ 'pairs.jsonl': rows.join('\n') }, 'pairs.jsonl', 'jsonl', { task: 're' });
    expect(result.counts.total).toBe(200);
    expect(result.counts.dev + result.counts.test).toBeGreaterThan(0);
    const splitsOf = new Map<string, Set<string>>();
    for (const e of result.examples) {
      const sentence = /aspirin(\d+)/.exec((e.input as { text: string }).text)?.[1] as string;
      splitsOf.set(sentence, (splitsOf.get(sentence) ?? new Set()).add(e.split));
    }
    expect(splitsOf.size).toBe(100);
    expect([...splitsOf.values()].every((s) => s.size === 1)).toBe(true);
  });

  it('CoNLL sentences of one -DOCSTART- document are drawn into one split', async () => {
    const documents = Array.from({ length: 40 }, (_, d) =>
      ['-DOCSTART-\tO', '', ...Array.from({ length: 5 }, (_, s) => `doc${d}\tO\nsentence${s}\tB-X\n`)].join('\n'),
    );
    const result = await imported({ 'corpus.conll': documents.join('\n') }, 'corpus.conll', 'conll', { task: 'ner' });
    expect(result.counts.total).toBe(200);
    const splitOf = new Map<string, Set<string>>();
    for (const e of result.examples) {
      const doc = (e.input as { text: string }).text.split(' ')[0] as string;
      splitOf.set(doc, (splitOf.get(doc) ?? new Set()).add(e.split));
    }
    expect(splitOf.size).toBe(40);
    expect([...splitOf.values()].every((s) => s.size === 1)).toBe(true);
    expect(result.counts.train).toBeLessThan(200);
  });
});

describe('--include and --exclude', () => {
  const files = {
    'train.jsonl': nli('a'),
    'dev.jsonl': nli('b'),
    'train_metadata.jsonl': '{"annotator": "x"}', // beside the data, breaks an import that reads it
  };

  it('leaves out metadata files beside the data, or imports only the files named', async () => {
    await expect(imported(files, '.', 'jsonl', NLI)).rejects.toThrow(/train_metadata\.jsonl, line 1: JSON record/);
    const excluded = await imported(files, '.', 'jsonl', { ...NLI, exclude: ['*metadata*'] });
    expect(excluded.counts).toMatchObject({ train: 1, dev: 1, total: 2 });
    const included = await imported(files, '.', 'jsonl', { ...NLI, include: ['train.jsonl'] });
    expect(included.counts).toMatchObject({ train: 1, dev: 0, total: 1 });
    await expect(imported(files, '.', 'jsonl', { ...NLI, include: ['*.csv'] })).rejects.toThrow(
      /holds no .* that pass --include \*\.csv\. Check the path and the patterns\./,
    );
  });
});

describe('--skip-bad-rows', () => {
  const rows = [nli('one'), '{"premise": "two", ', nli('three'), JSON.stringify({ premise: 'four', label: 'x' })];

  it('imports what parses and lists each skipped row with file, line and problem; without it nothing imports', async () => {
    const files = { 'train.jsonl': rows.join('\n') };
    await expect(imported(files, 'train.jsonl', 'jsonl', NLI)).rejects.toThrow(
      /train\.jsonl, line 2: this line is not valid JSON/,
    );
    const result = await imported(files, 'train.jsonl', 'jsonl', { ...NLI, skipBadRows: true });
    expect(result.counts.total).toBe(2);
    const file = path.join(temp.dir, `case${n}`, 'train.jsonl');
    expect(result.report.skipped).toEqual([
      `${file}, line 2: this line is not valid JSON (JSONL needs one JSON object per line)`,
      `${file}, line 4: JSON record: the hypothesis field is missing or empty`,
    ]);
  });

  it('lists the first 1,000 skipped records and counts them all', async () => {
    const broken = Array.from({ length: 1005 }, () => '{"premise": ');
    const result = await imported({ 'train.jsonl': [nli('ok'), ...broken].join('\n') }, 'train.jsonl', 'jsonl', {
      ...NLI,
      skipBadRows: true,
    });
    expect(result.counts.total).toBe(1);
    expect(result.report.skipped).toHaveLength(1000);
    expect(result.report.skippedCount).toBe(1005);
  });

  it('skips malformed CSV rows, and a BRAT document, the same way', async () => {
    const csv = await imported(
      { 'train.csv': 'premise,hypothesis,label\na,h,Entailment\n"b,h,Entailment\n' },
      'train.csv',
      'csv',
      { ...NLI, skipBadRows: true },
    );
    expect(csv.counts.total).toBe(1);
    expect(csv.report.skipped).toEqual([
      expect.stringMatching(/train\.csv, line 3: a quoted field opened here is never closed$/),
    ]);
    const brat = await imported(
      {
        'Train/a.txt': 'Aspirin.',
        'Train/a.ann': 'T1\tDRUG 0 7\tAspirin\n',
        'Train/b.txt': 'Warfarin.',
        'Train/b.ann': 'T1\tDRUG 0 99\tWarfarin\n',
      },
      '.',
      'brat',
      { task: 'ner', skipBadRows: true },
    );
    expect(brat.counts).toMatchObject({ train: 1, total: 1 });
    expect(brat.report.skipped).toEqual([
      expect.stringMatching(/b\.ann, line 1: the offsets 0-99 lie outside the \.txt file/),
    ]);
  });
});
