import { parse as parseCsv } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';

import type { NoteRunView } from '../../../src-main/ipc/contract.js';
import { noteResult } from '../../../src-main/services/note-run.js';
import { resultsCsv, resultsJsonl } from '../../../src-main/services/note-results.js';
import type { Example } from '../../../src-main/tasks/types.js';

const note = (input: Example['input']): Example => ({
  split: 'test',
  externalId: 'n1',
  input,
  target: null,
  labels: [],
});

describe('a note run result, read with the task parser', () => {
  it('NER: mentions become ranges of the note; a mention not in the note is kept with start -1', () => {
    const text = 'Fever and cough since Monday; no rash.';
    const r = noteResult({ type: 'ner', labels: ['SYMPTOM'] }, note({ text }), {
      id: 'n1',
      output: 'Fever [SEP] SYMPTOM\ncough [SEP] SYMPTOM\nheadache [SEP] SYMPTOM',
    });
    expect(r.ok).toBe(true);
    expect(r.entities).toEqual([
      { start: 0, end: 5, type: 'SYMPTOM', text: 'Fever' },
      { start: 10, end: 15, type: 'SYMPTOM', text: 'cough' },
      { start: -1, end: -1, type: 'SYMPTOM', text: 'headache' },
    ]);
    expect(text.slice(r.entities![1]!.start, r.entities![1]!.end)).toBe('cough');
  });

  it('NER: an unreadable answer is marked, with the lines that could not be used', () => {
    const r = noteResult({ type: 'ner', labels: ['SYMPTOM'] }, note({ text: 'Fever.' }), { id: 'n1', output: 'blah' });
    expect(r).toMatchObject({ ok: false, entities: [], problems: ['blah'], output: 'blah' });
  });

  it('RE: relations with their head and tail located in the note', () => {
    const text = 'Aspirin treats headache.';
    const r = noteResult({ type: 're', labels: ['TREATS'] }, note({ text }), {
      id: 'n1',
      output: 'Aspirin ; TREATS ; headache',
    });
    expect(r.relations).toEqual([
      {
        head: { start: 0, end: 7, type: '', text: 'Aspirin' },
        type: 'TREATS',
        tail: { start: 15, end: 23, type: '', text: 'headache' },
      },
    ]);
  });

  it('NLI and summaries: the label or the text as the answer; input fields as text', () => {
    const nli = noteResult(
      { type: 'nli', labels: ['entailment', 'contradiction'] },
      note({ premise: 'P.', hypothesis: 'H.' }),
      { id: 'n1', output: 'Contradiction' },
    );
    expect(nli).toMatchObject({ ok: true, answer: 'contradiction', input: { premise: 'P.', hypothesis: 'H.' } });
    const qa = noteResult(
      { type: 'qa', labels: [] },
      note({ question: 'Q?', options: ['x', 'y'], kind: 'multiple-choice' }),
      {
        id: 'n1',
        output: 'B',
      },
    );
    expect(qa).toMatchObject({
      answer: 'B',
      input: { question: 'Q?', options: 'A. x\nB. y', kind: 'multiple-choice' },
    });
    const sum = noteResult({ type: 'summarization', labels: [] }, note({ source: 'Long note.' }), {
      id: 'n1',
      output: ' Short. ',
    });
    expect(sum).toMatchObject({ ok: true, answer: 'Short.' });
  });
});

describe('results files', () => {
  const text = 'Fever, "high", since\nMonday.';
  const view: NoteRunView = {
    task: 'ner',
    dataset: 'ward',
    run: '/runs/pt-1',
    n: 2,
    unparseable: 1,
    results: [
      noteResult({ type: 'ner', labels: ['SYMPTOM'] }, note({ text }), { id: 'a.txt', output: 'Fever [SEP] SYMPTOM' }),
      {
        ...noteResult({ type: 'ner', labels: ['SYMPTOM'] }, note({ text: 'x' }), { id: 'b.txt', output: '??' }),
        split: 'dev',
      },
    ],
  };

  it('CSV: one row per note that a CSV reader gives back field for field (quotes, commas, line breaks)', () => {
    const rows = parseCsv(resultsCsv(view), { columns: true }) as Record<string, string>[];
    expect(rows).toEqual([
      { id: 'a.txt', split: 'test', text, entities: 'Fever [SYMPTOM]', readable: 'yes', output: 'Fever [SEP] SYMPTOM' },
      { id: 'b.txt', split: 'dev', text: 'x', entities: '', readable: 'no', output: '??' },
    ]);
  });

  it('JSONL: one result object per line', () => {
    const lines = resultsJsonl(view)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual(view.results);
  });
});
