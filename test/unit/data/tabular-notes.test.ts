import { readFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { exportJsonl } from '../../../src-main/data/exporters.js';
import { importNotes } from '../../../src-main/data/importers/notes.js';
import { importCsv, importJsonl } from '../../../src-main/data/importers/tabular.js';
import type { Example } from '../../../src-main/tasks/types.js';
import { SHARED_DIR } from '../../support/paths.js';
import { makeTempDir } from '../../support/temp.js';
import { caseFolders, collect } from './helpers.js';

const temp = makeTempDir();
afterAll(() => temp.cleanup());
const fresh = caseFolders(temp.dir);
const file = (name: string, content: string) => path.join(fresh({ [name]: content }), name);

describe('CSV with a column mapping', () => {
  it('maps columns to task fields; quoted fields may span lines', async () => {
    const csv = file(
      'notes.csv',
      'ID,dialogue,section_text\n1,"Doctor: hi\nPatient: ""cough""",Cough.\n2,"Doctor: bye",Plan.\n',
    );
    const examples = await collect(importCsv, csv, {
      task: 'summarization',
      mapping: 'source=dialogue,summary=section_text,id=ID',
    });
    expect(examples.map((e) => [e.externalId, e.input, e.target])).toEqual([
      ['1', { source: 'Doctor: hi\nPatient: "cough"' }, { summary: 'Cough.' }],
      ['2', { source: 'Doctor: bye' }, { summary: 'Plan.' }],
    ]);
  });

  it('names the file, line and field of a missing value, and of malformed CSV', async () => {
    const csv = file('a.csv', 'CHQ,Summary\nfirst question,short\n"second\nquestion",\n');
    await expect(
      collect(importCsv, csv, { task: 'summarization', mapping: 'source=CHQ,summary=Summary' }),
    ).rejects.toThrow(`${csv}, line 4: CSV record: the summary field (mapped to "Summary") is missing or empty`);
    const broken = file('b.csv', 'a,b\n1,2\n3,4,5\n');
    await expect(
      collect(importCsv, broken, { task: 'nli', mapping: 'premise=a,hypothesis=b,label=b' }),
    ).rejects.toThrow(`${broken}, line 3: this row has a different number of columns than the header row.`);
    await expect(collect(importCsv, broken, { task: 'nli', mapping: 'premis=a' })).rejects.toThrow(
      /nli has no field "premis"; its fields are id, split, premise/,
    );
  });
});

describe('a mapping that does not match the file', () => {
  it('blames the column mapping, naming the field, not the file', async () => {
    const csv = file('c.csv', 'dialogue,section_text\n"Doctor: hi",Cough.\n');
    const unmapped = collect(importCsv, csv, { task: 'summarization' });
    await expect(unmapped).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'mapping',
      message:
        "The mapping does not say which column holds the source field, and c.csv has no column named source. Add source=COLUMN to the column mapping, COLUMN being the file's column that holds it.",
    });
    await expect(
      collect(importCsv, csv, { task: 'summarization', mapping: 'source=dialog,summary=section_text' }),
    ).rejects.toMatchObject({
      field: 'mapping',
      message: expect.stringMatching(/^c\.csv has no column "dialog" for the source field/),
    });
    // a later row missing a value the first row had is the file's problem, with its line
    const ragged = file('d.jsonl', '{"source":"a","summary":"b"}\n{"source":"c"}\n');
    await expect(collect(importJsonl, ragged, { task: 'summarization' })).rejects.toThrow(
      `${ragged}, line 2: JSON record: the summary field is missing or empty`,
    );
  });
});

describe('JSONL and JSON', () => {
  it('multiple choice with 1-based answer index (MedMCQA), from its real first records', async () => {
    const lines = readFileSync(path.join(SHARED_DIR, 'data/qa/medmcqa/data/dev.json'), 'utf8').split('\n').slice(0, 5);
    const examples = await collect(importJsonl, file('dev.json', lines.join('\n')), {
      task: 'qa',
      mapping: 'options=opa|opb|opc|opd,answerIndex=cop,id=id',
    });
    expect(examples).toHaveLength(5);
    const first = JSON.parse(lines[0] as string) as { cop: number; opa: string; question: string; id: string };
    expect(examples[0]).toMatchObject({
      externalId: first.id,
      input: { question: first.question, kind: 'multiple-choice' },
      target: { answer: 'ABCD'[first.cop - 1] },
      labels: ['ABCD'[first.cop - 1]],
    });
  });

  it('infers yes/no/maybe and free answers; reads ChemProt-style << head >> [[ tail ]] pairs', async () => {
    const qa = await collect(
      importJsonl,
      file('qa.jsonl', '{"question":"q1","answer":"Yes"}\n\n{"question":"q2","answer":"metformin 500 mg"}\n'),
      { task: 'qa' },
    );
    expect(qa.map((e) => [e.input, e.target, e.labels])).toEqual([
      [{ question: 'q1', kind: 'yes-no-maybe' }, { answer: 'yes' }, ['yes']],
      [{ question: 'q2', kind: 'free' }, { answer: 'metformin 500 mg' }, []],
    ]);
    const chemprot = readFileSync(path.join(SHARED_DIR, 'data/re/chemprot/train.txt'), 'utf8').split('\n')[0] as string;
    const [re] = await collect(importJsonl, file('train.txt', chemprot), { task: 're' });
    expect(re?.input).toMatchObject({ pair: { head: 'Epidermal growth factor receptor', tail: 'gefitinib' } });
    expect(re?.labels).toEqual(['INHIBITOR']);
  });

  it('reads a JSON object keyed by id with a preset (PubMedQA), joining the official test ids', async () => {
    const examples = await collect(importJsonl, path.join(SHARED_DIR, 'data/qa/pubmedqa/ori_pqal.json'), {
      task: 'qa',
      mapping: 'preset:pubmedqa',
    });
    expect(examples).toHaveLength(1000);
    expect(examples.filter((e) => e.split === 'test')).toHaveLength(500);
    expect(examples[0]).toMatchObject({
      externalId: '21645374',
      input: { kind: 'yes-no-maybe' },
      target: { answer: 'yes' },
    });
    await expect(
      collect(importJsonl, path.join(SHARED_DIR, 'data/qa/pubmedqa/ori_pqal.json'), {
        task: 'nli',
        mapping: 'preset:pubmedqa',
      }),
    ).rejects.toMatchObject({ field: 'task', message: 'preset:pubmedqa is a qa dataset: choose qa.' });
  });

  it("reads ClinPrompt's own JSONL export back without a mapping", async () => {
    const examples: Example[] = [
      {
        split: 'dev',
        externalId: 'n1',
        input: { premise: 'p', hypothesis: 'h' },
        target: { label: 'Entailment' },
        labels: ['Entailment'],
      },
    ];
    const out = path.join(fresh({ 'README.txt': 'export folder' }), 'out.jsonl');
    await exportJsonl(examples, out);
    expect(await collect(importJsonl, out, { task: 'nli' })).toEqual(examples);
    const discontinuous: Example = {
      split: 'train',
      input: { text: 'alpha- or beta-adrenergic blockers' },
      target: {
        entities: [
          {
            start: 0,
            end: 34,
            type: 'GROUP',
            text: 'alpha-adrenergic blockers',
            fragments: [
              { start: 0, end: 6 },
              { start: 15, end: 34 },
            ],
          },
        ],
      },
      labels: ['GROUP'],
    };
    await exportJsonl([discontinuous], out);
    expect(await collect(importJsonl, out, { task: 'ner' })).toEqual([{ ...discontinuous, externalId: '1' }]);
    await expect(collect(importJsonl, out, { task: 'qa' })).rejects.toThrow(
      `${out}, line 1: JSON record: input lacks question, kind for a qa example`,
    );
  });

  it('names the line of invalid JSON', async () => {
    const bad = file('x.jsonl', '{"premise":"a","hypothesis":"b","label":"c"}\n{"premise": oops}\n');
    await expect(collect(importJsonl, bad, { task: 'nli' })).rejects.toThrow(
      `${bad}, line 2: this line is not valid JSON`,
    );
  });
});

describe('plain-text note folders', () => {
  it('imports each .txt note as an unlabelled example', async () => {
    const dir = fresh({ 'a.txt': 'Note one.', 'sub/b.txt': '\uFEFFNote two.', 'empty.txt': '  ', 'skip.md': 'x' });
    const examples = await collect(importNotes, dir, { task: 'summarization' });
    expect(examples).toEqual([
      { split: 'test', externalId: 'a.txt', input: { source: 'Note one.' }, target: null, labels: [] },
      {
        split: 'test',
        externalId: path.join('sub', 'b.txt'),
        input: { source: 'Note two.' },
        target: null,
        labels: [],
      },
    ]);
    await expect(collect(importNotes, dir, { task: 'nli' })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    await expect(collect(importNotes, path.join(dir, 'a.txt'), { task: 'ner' })).rejects.toThrow(/takes a folder/);
  });
});
