/**
 * Spreadsheets and JSON as they are shipped: .xlsx workbooks read directly (first sheet or
 * --sheet, whatever the file is called), legacy .xls and workbooks sent to a text format refused
 * with what to do, CSV problems in words, and JSON whose records sit under a top-level key
 * (named as the records setting) or that is one record.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';
import writeXlsxFile from 'write-excel-file/node';

import { importCsv, importJsonl, RecordsUnderKey } from '../../../src-main/data/importers/tabular.js';
import type { ImportOptions } from '../../../src-main/data/source.js';
import { makeTempDir } from '../../support/temp.js';
import { collect } from './helpers.js';

const temp = makeTempDir();
afterAll(() => temp.cleanup());
let n = 0;
const write = (name: string, content: string | Buffer) => {
  const file = path.join(temp.dir, `${++n}-${name}`);
  writeFileSync(file, content);
  return file;
};

const SUMMARIES = { task: 'summarization', mapping: 'source=CHQ,summary=Summary,id=File' } as const;

/** A workbook as Excel would save it: two sheets, a date, a number, an empty row. */
async function workbook(): Promise<Buffer> {
  return writeXlsxFile([
    {
      sheet: 'Questions',
      data: [
        ['File', 'CHQ', 'Summary', 'Received'],
        [
          101,
          'Is aspirin safe with warfarin?',
          'aspirin warfarin safety',
          { value: new Date(Date.UTC(2026, 0, 2)), format: 'yyyy-mm-dd' },
        ],
        [null, null, null, null],
        [102, 'My child has a rash after amoxicillin.', 'amoxicillin rash', null],
      ],
    },
    {
      sheet: 'Held out',
      data: [
        ['File', 'CHQ', 'Summary'],
        [201, 'What dose of metformin?', 'metformin dose'],
      ],
    },
  ]).toBuffer();
}

describe('Excel workbooks', () => {
  it('reads the first sheet by default, a header row first, empty rows skipped', async () => {
    const file = write('meqsum.xlsx', await workbook());
    const examples = await collect(importCsv, file, SUMMARIES);
    expect(examples.map((e) => [e.externalId, e.input, e.target])).toEqual([
      ['101', { source: 'Is aspirin safe with warfarin?' }, { summary: 'aspirin warfarin safety' }],
      ['102', { source: 'My child has a rash after amoxicillin.' }, { summary: 'amoxicillin rash' }],
    ]);
  });

  it('reads another sheet by name or number, and lists the sheets when the one asked for is missing', async () => {
    const file = write('meqsum.xlsx', await workbook());
    const byName = await collect(importCsv, file, { ...SUMMARIES, sheet: 'Held out' });
    const byNumber = await collect(importCsv, file, { ...SUMMARIES, sheet: '2' });
    expect(byName.map((e) => e.externalId)).toEqual(['201']);
    expect(byNumber).toEqual(byName);
    await expect(collect(importCsv, file, { ...SUMMARIES, sheet: 'Answers' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: `--sheet: ${file} has no sheet Answers; its sheets are Questions, (unnamed) (or give a number from 1 to 2).`,
    });
  });

  it('names the sheet and row of a bad record', async () => {
    const file = write(
      'bad.xlsx',
      await writeXlsxFile([
        ['CHQ', 'Summary'],
        ['q1', 's1'],
        ['q2', null],
      ]).toBuffer(),
    );
    await expect(
      collect(importCsv, file, { task: 'summarization', mapping: 'source=CHQ,summary=Summary' }),
    ).rejects.toThrow(
      `${file}, sheet Sheet1, row 3: CSV record: the summary field (mapped to "Summary") is missing or empty`,
    );
  });

  it('reads a workbook saved under a .csv name as the workbook it is', async () => {
    const file = write('export.csv', await workbook());
    expect(await collect(importCsv, file, SUMMARIES)).toHaveLength(2);
  });

  it('refuses an .xls workbook and a workbook given to a text format, saying what to do', async () => {
    const xls = write('old.csv', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0, 0, 0]));
    await expect(collect(importCsv, xls, SUMMARIES)).rejects.toThrow(
      `${xls}: this is an Excel 97-2003 workbook (.xls), which cannot be read directly: save it as .xlsx or CSV in Excel`,
    );
    const xlsx = write('records.jsonl', await workbook());
    await expect(collect(importJsonl, xlsx, SUMMARIES)).rejects.toThrow(
      `${xlsx}: this is an Excel workbook, not a text file: import it with "import csv"`,
    );
  });
});

describe('CSV problems in words', () => {
  it.each([
    ['a,b\n"x,y\n', 'line 2: a quoted field opened here is never closed'],
    ['a,b\n"x"y,z\n', 'line 2: a quote inside a quoted field is not doubled ("")'],
    ['a,b\nx"y,z\n', 'line 2: a quote appears inside an unquoted field'],
    ['a,a\nx,y\n', 'line 1: the header row names the column "a" twice'],
  ])('%j', async (csv, problem) => {
    const file = write('x.csv', csv);
    const error = await collect(importCsv, file, { task: 'nli', mapping: 'premise=a,hypothesis=b,label=b' }).catch(
      (e: Error) => e,
    );
    expect((error as Error).message).toContain(problem);
    expect((error as Error).message).not.toMatch(/CSV_[A-Z_]+/);
  });
});

describe('wrapped and one-record JSON', () => {
  const QA: ImportOptions = { task: 'qa' };
  const questions = {
    version: '1.0',
    questions: [
      { id: 'q1', question: 'Is the drug safe?', answer: 'yes' },
      { id: 'q2', question: 'Does it work?', answer: 'maybe' },
    ],
  };

  it('imports records under a top-level key with --records, and says so when it is not given or mistyped', async () => {
    const file = write('bioasq.json', JSON.stringify(questions));
    const examples = await collect(importJsonl, file, { ...QA, records: 'questions' });
    expect(examples.map((e) => [e.externalId, e.target])).toEqual([
      ['q1', { answer: 'yes' }],
      ['q2', { answer: 'maybe' }],
    ]);
    // the file is fine: the records setting is missing, named as a field for each front end to word
    const missing = await collect(importJsonl, file, QA).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(RecordsUnderKey);
    expect(missing).toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'records',
      key: 'questions',
      message: `The records of ${file} sit in a list under its top-level key "questions": give that key`,
    });
    expect((missing as Error).message).not.toMatch(/--/);
    // a mistyped key is named, not an empty import
    await expect(collect(importJsonl, file, { ...QA, records: 'items' })).rejects.toMatchObject({
      field: 'records',
      message: `${file} has no records under the key "items"`,
    });
  });

  it('imports a file that is one record', async () => {
    const file = write('one.json', JSON.stringify({ id: 'q9', question: 'Is it benign?', answer: 'no' }, null, 2));
    const [example] = await collect(importJsonl, file, QA);
    expect(example).toMatchObject({ externalId: 'q9', target: { answer: 'no' } });
  });
});
