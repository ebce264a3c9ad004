/**
 * Column mappings as the app picks them (columns per field) beside the written form, and the guess
 * the Import step pre-fills its selects with.
 */
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { importCsv } from '../../../src-main/data/importers/tabular.js';
import { guessMapping, mappableFields, parseMapping, TASK_FIELDS } from '../../../src-main/data/mapping.js';
import { TASK_TYPES } from '../../../src-main/tasks/types.js';
import { makeTempDir } from '../../support/temp.js';
import { caseFolders, collect } from './helpers.js';

const temp = makeTempDir();
afterAll(() => temp.cleanup());
const fresh = caseFolders(temp.dir);
const file = (name: string, content: string) => path.join(fresh({ [name]: content }), name);

describe('a picked mapping', () => {
  it('reads as its written form does; unpicked fields are left out', () => {
    expect(parseMapping({ options: ['opa', 'opb'], answerIndex: ['cop'], context: [] }, 'qa')).toEqual(
      parseMapping('options=opa|opb,answerIndex=cop', 'qa'),
    );
    expect(parseMapping({ text: [''] }, 'ner')).toEqual({});
  });

  it('refuses a field the task does not have, naming the mapping', () => {
    expect(() => parseMapping({ premise: ['a'] }, 'ner')).toThrow(
      expect.objectContaining({
        field: 'mapping',
        message: 'ner has no field "premise"; its fields are id, split, text, entities.',
      }),
    );
  });

  it('imports with the columns picked, a column whose name holds | or , included', async () => {
    const csv = file('mcq.csv', 'q,"A|1","B, 2",right\nWhich vitamin?,Vitamin C,Vitamin D,2\n');
    const [example] = await collect(importCsv, csv, {
      task: 'qa',
      mapping: { question: ['q'], options: ['A|1', 'B, 2'], answerIndex: ['right'] },
    });
    expect(example?.input).toEqual({
      question: 'Which vitamin?',
      options: ['Vitamin C', 'Vitamin D'],
      kind: 'multiple-choice',
    });
    expect(example?.target).toEqual({ answer: 'B' });
  });
});

describe('the guessed mapping', () => {
  it('takes each field’s own column, then the names public sets use, each column once', () => {
    expect(guessMapping(['File', 'CHQ', 'Summary'], 'summarization')).toEqual({
      source: ['CHQ'],
      summary: ['Summary'],
      id: ['File'],
    });
    expect(guessMapping(['ID', 'section_header', 'section_text', 'dialogue'], 'summarization')).toEqual({
      source: ['dialogue'],
      summary: ['section_text'],
      id: ['ID'],
    });
    expect(guessMapping(['sentence1', 'sentence2', 'gold_label', 'Split'], 'nli')).toEqual({
      premise: ['sentence1'],
      hypothesis: ['sentence2'],
      label: ['gold_label'],
      split: ['Split'],
    });
    // the text column is taken by source's own name first: summary does not get it twice
    expect(guessMapping(['text', 'abstract'], 'summarization')).toEqual({ source: ['text'], summary: ['abstract'] });
  });

  it('gives option columns to the list field, in the file’s order, and guesses nothing from unknown names', () => {
    expect(guessMapping(['question', 'opa', 'opb', 'opc', 'opd', 'cop', 'exp'], 'qa')).toEqual({
      question: ['question'],
      options: ['opa', 'opb', 'opc', 'opd'],
      answerIndex: ['cop'],
    });
    expect(guessMapping(['Option A', 'Option B', 'Answer'], 'qa')).toEqual({
      options: ['Option A', 'Option B'],
      answer: ['Answer'],
    });
    expect(guessMapping(['col1', 'col2'], 'nli')).toEqual({});
  });

  it.each(TASK_TYPES)('%s: a file with a column per field, named as the field, is guessed whole', (task) => {
    const names = TASK_FIELDS[task].filter((f) => !f.list).map((f) => f.name);
    const guessed = guessMapping(names, task);
    for (const name of names) expect(guessed[name]).toEqual([name]);
    expect(mappableFields(task).map((f) => f.name)).toEqual([...TASK_FIELDS[task].map((f) => f.name), 'id', 'split']);
  });
});
