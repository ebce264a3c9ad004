/**
 * Labels are never silently wrong: a QA answer given as text names the option with that text before
 * it is read as a letter (and never a near match), a BRAT id used twice is refused, and
 * de-duplication is exact, with an input seen under two targets reported as a conflict.
 */
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { importBrat } from '../../../src-main/data/importers/brat.js';
import { importJsonl } from '../../../src-main/data/importers/tabular.js';
import { readDataset } from '../../../src-main/data/read-dataset.js';
import { makeTempDir } from '../../support/temp.js';
import { caseFolders, collect } from './helpers.js';

const temp = makeTempDir();
afterAll(() => temp.cleanup());
const fresh = caseFolders(temp.dir);

const OPTIONS = ['Vitamin A', 'C', 'D', 'E'];

async function answerOf(answer: string, options = OPTIONS): Promise<unknown> {
  const dir = fresh({ 'q.jsonl': JSON.stringify({ question: 'Which vitamin?', options, answer }) });
  const [example] = await collect(importJsonl, path.join(dir, 'q.jsonl'), { task: 'qa' });
  return example?.target;
}

describe('QA answers given as text', () => {
  it.each([
    ['C', 'B'], // the option whose text is "C", not the third option
    ['d', 'C'], // the option "D" (case aside), not the fourth
    ['E', 'D'],
    ['vitamin a', 'A'],
    ['B', 'B'], // no option reads "B": the letter
  ])('answer %j names option %s', async (answer, letter) => {
    expect(await answerOf(answer)).toEqual({ answer: letter });
  });

  it('refuses a near miss, an unknown answer and an answer that is the text of two options', async () => {
    await expect(answerOf('Vitamn A')).rejects.toThrow(
      /JSON record: the answer is neither the text of one of the 4 options nor an option letter \(A-D\)/,
    );
    await expect(answerOf('F')).rejects.toThrow(/neither the text of one of the 4 options/);
    await expect(answerOf('C', ['C', 'c', 'D'])).rejects.toThrow(
      /the answer is the text of 2 options; it must name one/,
    );
  });
});

describe('BRAT ids', () => {
  it('refuses an annotation id used twice, naming file, line and id', async () => {
    const dir = fresh({
      'a.txt': 'Aspirin and warfarin.',
      'a.ann': 'T1\tDRUG 0 7\tAspirin\nT1\tDRUG 12 20\twarfarin\n',
    });
    await expect(collect(importBrat, dir, { task: 'ner' })).rejects.toThrow(
      `${path.join(dir, 'a.ann')}, line 2: the annotation id T1 is used twice in this file`,
    );
  });
});

describe('exact de-duplication', () => {
  it('keeps inputs that differ only in case, drops exact copies, lists an input seen with two labels', async () => {
    const row = (id: string, premise: string, label: string) =>
      JSON.stringify({ id, premise, hypothesis: 'h', label, split: 'train' });
    const dir = fresh({
      'train.jsonl': [
        row('1', 'BP high', 'Entailment'),
        row('2', 'bp high', 'Entailment'), // another input: case counts
        row('3', 'BP high', 'Entailment'), // an exact copy: dropped
        row('4', 'BP high', 'Contradiction'), // the same input, another label: a conflict
        row('5', 'BP high', 'Contradiction'), // a copy of the conflict: dropped, not counted again
      ].join('\n'),
    });
    const { examples, report } = await readDataset('jsonl', path.join(dir, 'train.jsonl'), { task: 'nli' });
    expect(examples.map((e) => e.externalId)).toEqual(['1', '2', '4']);
    expect(report).toMatchObject({ duplicatesRemoved: 2, conflictingDuplicates: 1, conflicts: ['4'] });
  });
});
