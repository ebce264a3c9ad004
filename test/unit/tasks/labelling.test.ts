import { describe, expect, it } from 'vitest';

import { labelChoices, labelledText, snapToWords, targetFromMarks } from '../../../src-main/tasks/labelling.js';
import { frameExample } from '../../../src-main/tasks/registry.js';

const TEXT = 'Pt febrile (38.9C), started on IV ceftriaxone.';

describe('labels made in the app', () => {
  it('snaps a selection to whole words and trims the spaces around it', () => {
    const ever = TEXT.indexOf('ebr');
    expect(snapToWords(TEXT, ever, ever + 3)).toEqual({ start: 3, end: 10 }); // "febrile"
    const iv = TEXT.indexOf(' IV ceftr');
    const span = snapToWords(TEXT, iv, iv + 8)!; // " IV ceft" -> "IV ceftriaxone"
    expect(TEXT.slice(span.start, span.end)).toBe('IV ceftriaxone');
    // punctuation is not a word: "(38.9C)" keeps its brackets out when they were not selected
    const num = TEXT.indexOf('8.9');
    expect(TEXT.slice(...Object.values(snapToWords(TEXT, num, num + 2)!))).toBe('38.9C');
    // backwards selections and selections of spaces
    expect(snapToWords(TEXT, 10, 3)).toEqual({ start: 3, end: 10 });
    expect(snapToWords(TEXT, 2, 3)).toBeUndefined();
  });

  it('makes an NER target from spans in text order, trained as the task serialises it', () => {
    const input = { text: TEXT };
    const marks = [
      { label: 'treatment', start: 31, end: 45 },
      { label: 'problem', start: 3, end: 10 },
    ];
    const made = targetFromMarks('ner', input, marks)!;
    expect(made.labels).toEqual(['problem', 'treatment']);
    const framed = frameExample({ type: 'ner', labels: ['problem', 'treatment'] }, input, made.target as never);
    expect(framed.target).toBe(' febrile [SEP] problem\nIV ceftriaxone [SEP] treatment');
  });

  it('takes the newest whole-note label, so undoing it brings the previous one back; none left is no target', () => {
    const input = { premise: 'No fever.', hypothesis: 'The patient is febrile.' };
    const marks = [
      { label: 'entailment', start: null, end: null },
      { label: 'contradiction', start: null, end: null },
    ];
    expect(targetFromMarks('nli', input, marks)).toEqual({
      target: { label: 'contradiction' },
      labels: ['contradiction'],
    });
    expect(targetFromMarks('nli', input, marks.slice(0, 1))).toEqual({
      target: { label: 'entailment' },
      labels: ['entailment'],
    });
    expect(targetFromMarks('nli', input, [])).toBeNull();
    expect(
      targetFromMarks('summarization', { source: 'x' }, [
        { label: 'summary', start: null, end: null, value: 'Short.' },
      ]),
    ).toEqual({ target: { summary: 'Short.' }, labels: [] });
  });

  it("offers the task's own choices: NLI's label set, QA's option letters, the entity types for NER", () => {
    expect(labelChoices('nli', { premise: 'a', hypothesis: 'b' }, ['entailment', 'neutral'])).toEqual([
      'entailment',
      'neutral',
    ]);
    expect(labelChoices('qa', { question: 'q', options: ['x', 'y', 'z'], kind: 'multiple-choice' }, [])).toEqual([
      'A',
      'B',
      'C',
    ]);
    expect(labelChoices('qa', { question: 'q', kind: 'yes-no-maybe' }, [])).toEqual(['yes', 'no', 'maybe']);
    expect(labelChoices('ner', { text: 't' }, ['problem'])).toEqual(['problem']);
    expect(labelledText('nli', { premise: 'P', hypothesis: 'H' })).toBe('P\nH');
  });
});
