import { readFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { bratAnnotations } from '../../../src-main/data/exporters.js';
import { importBrat, parseBratAnnotations } from '../../../src-main/data/importers/brat.js';
import { importConll } from '../../../src-main/data/importers/conll.js';
import type { Entity, NerTarget, ReTarget } from '../../../src-main/tasks/types.js';
import { SHARED_DIR } from '../../support/paths.js';
import { makeTempDir } from '../../support/temp.js';
import { caseFolders, collect, fifo } from './helpers.js';

const temp = makeTempDir();
afterAll(() => temp.cleanup());
const fresh = caseFolders(temp.dir);
const entitiesOf = (e: { target: unknown }) => (e.target as NerTarget).entities.map((x) => [x.text, x.type]);

describe('CoNLL / BIO importer', () => {
  it('reads IOB2, IOB1 and BIOES tags into offsets over the space-joined tokens', async () => {
    const dir = fresh({
      'train.tsv': 'Selegiline\tB-Chemical\n-\tO\ninduced\tO\npostural\tB-Disease\nhypotension\tI-Disease\n\n',
      'dev.conll':
        '-DOCSTART- O\n\nacute I-Disease\nMI I-Disease\nand O\nCKD S-Disease\nstage B-Disease\n3 E-Disease\n',
    });
    const [train, dev] = await collect(importConll, dir, { task: 'ner' });
    expect(train?.split).toBe('dev'); // files are read in name order: dev.conll first
    expect((train?.input as { text: string }).text).toBe('acute MI and CKD stage 3');
    expect(entitiesOf(train!)).toEqual([
      ['acute MI', 'Disease'],
      ['CKD', 'Disease'],
      ['stage 3', 'Disease'],
    ]);
    expect(dev?.split).toBe('train');
    expect(entitiesOf(dev!)).toEqual([
      ['Selegiline', 'Chemical'],
      ['postural hypotension', 'Disease'],
    ]);
    expect(dev?.labels).toEqual(['Chemical', 'Disease']);
  });

  it('reproduces the NCBI-disease mentions of the first sentences', async () => {
    const lines = readFileSync(path.join(SHARED_DIR, 'data/ner/ncbi-disease/train.tsv'), 'utf8')
      .split('\n')
      .slice(0, 60);
    const file = path.join(fresh({ 'train.tsv': lines.join('\n') }), 'train.tsv');
    const examples = await collect(importConll, file, { task: 'ner' });
    expect(examples[0]?.externalId).toBe('train.tsv:1');
    expect(entitiesOf(examples[0]!)).toEqual([['adenomatous polyposis coli tumour', 'Disease']]);
    for (const e of examples) {
      for (const x of (e.target as NerTarget).entities)
        expect((e.input as { text: string }).text.slice(x.start, x.end)).toBe(x.text);
    }
  });

  it('names the file and line of a malformed row', async () => {
    const file = path.join(fresh({ 'x.tsv': 'a\tO\nb\n' }), 'x.tsv');
    await expect(collect(importConll, file, { task: 'ner' })).rejects.toThrow(
      `${file}, line 2: expected a token and a tag`,
    );
    const bad = path.join(fresh({ 'y.tsv': 'a\tO\n\nb\tB_Disease\n' }), 'y.tsv');
    await expect(collect(importConll, bad, { task: 'ner' })).rejects.toMatchObject({
      code: 'BAD_FILE',
      message: expect.stringContaining('line 3'),
    });
  });

  it('streams: the first sentence arrives before the rest of the file is written', async () => {
    const pipe = path.join(temp.dir, 'stream.tsv');
    const writer = fifo(pipe);
    writer.write('first\tB-Disease\n\n');
    const iterator = importConll(pipe, { task: 'ner' })[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(entitiesOf(first.value as { target: unknown })).toEqual([['first', 'Disease']]);
    writer.end('second\tO\n');
    expect(((await iterator.next()).value as { input: { text: string } }).input.text).toBe('second');
    expect((await iterator.next()).done).toBe(true);
  });
});

const NOTE = 'Aspirin may increase the effect of oral and parenteral anticoagulants. Avoid NSAIDs.';
const ANN = [
  'T1\tDRUG 0 7\tAspirin',
  'T2\tGROUP 35 39;55 69\toral anticoagulants',
  'T3\tGROUP 77 83\tNSAIDs',
  'T4\tTrigger 12 20\tincrease',
  'R1\tEFFECT Arg1:T1 Arg2:T2',
  'E1\tIncrease:T4 Theme:T2 Cause:T1',
  'A1\tNegated T3',
  'M2\tCertainty T1 High',
  'N1\tReference T1 DrugBank:DB00945\tAspirin',
  '#1\tAnnotatorNotes T1\tchecked',
  '*\tEquiv T1 T1',
].join('\n');

describe('BRAT importer', () => {
  it('reads text-bound (also discontinuous) mentions, relations, events, attributes and normalisations', async () => {
    const dir = fresh({ 'Train/a.txt': NOTE, 'Train/a.ann': ANN });
    const doc = await parseBratAnnotations(path.join(dir, 'Train/a.ann'), NOTE);
    const t2 = doc.entities.find((e) => e.id === 'T2') as Entity;
    expect(t2).toMatchObject({
      start: 35,
      end: 69,
      type: 'GROUP',
      fragments: [
        { start: 35, end: 39 },
        { start: 55, end: 69 },
      ],
    });
    expect(doc.entities.find((e) => e.id === 'T1')).toMatchObject({
      attributes: { Certainty: 'High' },
      references: ['DrugBank:DB00945'],
    });
    expect(doc.entities.find((e) => e.id === 'T3')?.attributes).toEqual({ Negated: 'true' });
    expect(doc.relations.map((r) => [r.head.id, r.type, r.tail.id])).toEqual([
      ['T1', 'EFFECT', 'T2'],
      ['T4', 'Increase:Theme', 'T2'],
      ['T4', 'Increase:Cause', 'T1'],
    ]);
    expect(doc.events).toEqual([
      expect.objectContaining({
        id: 'E1',
        type: 'Increase',
        args: [
          { role: 'Theme', ref: 'T2' },
          { role: 'Cause', ref: 'T1' },
        ],
      }),
    ]);

    const [ner] = await collect(importBrat, dir, { task: 'ner' });
    expect(ner).toMatchObject({ split: 'train', externalId: 'Train/a' });
    expect(ner?.labels).toEqual(['DRUG', 'Trigger', 'GROUP', 'GROUP']);
    const [re] = await collect(importBrat, dir, { task: 're' });
    expect(re?.labels).toEqual(['EFFECT', 'Increase:Theme', 'Increase:Cause']);
  });

  it('exports what it imported: the .ann written back parses to the same annotations', async () => {
    const dir = fresh({ 'a.txt': NOTE, 'a.ann': ANN });
    const doc = await parseBratAnnotations(path.join(dir, 'a.ann'), NOTE);
    const out = fresh({ 'b.txt': NOTE, 'b.ann': bratAnnotations(doc.entities, doc as ReTarget) });
    const again = await parseBratAnnotations(path.join(out, 'b.ann'), NOTE);
    const strip = (es: readonly Entity[]) => es.map(({ id: _id, ...rest }) => rest);
    expect(strip(again.entities)).toEqual(strip(doc.entities));
    expect(again.relations.map((r) => [r.head.text, r.type, r.tail.text])).toEqual(
      doc.relations.map((r) => [r.head.text, r.type, r.tail.text]),
    );
    expect(again.events.map((e) => e.type)).toEqual(['Increase']);
  });

  it('reads the DDI corpus, whose discontinuous mentions join fragments without a space', async () => {
    const dir = path.join(SHARED_DIR, 'data/re/ddi-brat/Train/DrugBank');
    const txt = readFileSync(path.join(dir, 'Dopamine_ddi.txt'), 'utf8');
    const doc = await parseBratAnnotations(path.join(dir, 'Dopamine_ddi.ann'), txt);
    expect(doc.entities.find((e) => e.id === 'T16')).toMatchObject({
      text: 'alpha-adrenergic blocking agents',
      fragments: [
        { start: 892, end: 898 },
        { start: 907, end: 933 },
      ],
    });
    expect(doc.relations.length).toBeGreaterThan(0);
  });

  it.each([
    ['T1\tDRUG 0 700\tAspirin', 'line 1: the offsets 0-700 lie outside the .txt file'],
    ['T1\tDRUG 0 7\tAspirim', 'line 1: the text of T1 does not match its offsets'],
    ['T1\tDRUG 0 7\tAspirin\nR1\tEFFECT Arg1:T1 Arg2:T9', 'line 2: relation R1 refers to T9'],
    ['T1\tDRUG zero 7\tAspirin', 'line 1: a text-bound annotation needs offsets'],
    ['X1\tfoo', 'line 1: the line does not start with an annotation id'],
  ])('reports %j with file and line', async (ann, message) => {
    const dir = fresh({ 'a.txt': NOTE, 'a.ann': ann });
    await expect(collect(importBrat, dir, { task: 're' })).rejects.toThrow(`${path.join(dir, 'a.ann')}, ${message}`);
  });

  it('refuses a task BRAT cannot hold and a missing .txt', async () => {
    await expect(collect(importBrat, fresh({ 'a.txt': NOTE, 'a.ann': '' }), { task: 'nli' })).rejects.toThrow(
      /not nli/,
    );
    await expect(collect(importBrat, fresh({ 'a.ann': '' }), { task: 'ner' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});
