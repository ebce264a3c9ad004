import { describe, expect, it } from 'vitest';

import {
  RE_MENTION,
  labelChoices,
  labelledText,
  reMentions,
  relationEnds,
  snapToWords,
  targetFromMarks,
} from '../../../src-main/tasks/labelling.js';
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

  it('makes an RE target from mentions and a relation between two of them, framed as the RE importers frame it', () => {
    const input = { text: TEXT };
    const febrile = { start: 3, end: 10 };
    const drug = { start: 31, end: 45 };
    const mention = (s: { start: number; end: number }) => ({ label: RE_MENTION, ...s });
    const relation = { label: 'treats', start: null, end: null, value: { head: drug, tail: febrile } };
    // mentions alone are no answer yet
    expect(targetFromMarks('re', input, [mention(febrile), mention(drug)])).toBeNull();
    const made = targetFromMarks('re', input, [mention(febrile), mention(drug), relation])!;
    const entities = [
      { ...febrile, type: RE_MENTION, text: 'febrile' },
      { ...drug, type: RE_MENTION, text: 'IV ceftriaxone' },
    ];
    expect(made).toEqual({
      target: { relations: [{ type: 'treats', head: entities[1], tail: entities[0] }], entities },
      labels: ['treats'],
    });
    const framed = frameExample({ type: 're', labels: ['treats', 'causes'] }, input, made.target as never);
    expect(framed.prompt).toMatch(/List every relation \(treats, causes\)/);
    expect(framed.target).toBe(' IV ceftriaxone ; treats ; febrile');
    // a relation whose mention was taken back is dropped, never saved half
    expect(targetFromMarks('re', input, [mention(febrile), relation])).toBeNull();
    expect(relationEnds(relation.value)).toEqual({ head: drug, tail: febrile });
    expect(relationEnds('a summary')).toBeUndefined();
  });

  it("keeps an RE example's own mentions (with their types and ids) and events, and joins them", () => {
    const fever = { start: 3, end: 10, type: 'Problem', text: 'febrile', id: 'T1' };
    const given = { relations: [], entities: [fever], events: [] };
    const drug = { label: RE_MENTION, start: 31, end: 45 };
    // marking an imported mention again does not add it twice
    expect(reMentions(TEXT, given, [drug, { label: RE_MENTION, start: 3, end: 10 }])).toEqual([
      fever,
      { start: 31, end: 45, type: RE_MENTION, text: 'IV ceftriaxone' },
    ]);
    const relation = { label: 'treats', start: null, end: null, value: { head: { start: 31, end: 45 }, tail: fever } };
    const made = targetFromMarks('re', { text: TEXT }, [drug, relation], given)!;
    expect(made.target).toMatchObject({ relations: [{ type: 'treats', tail: fever }], events: [] });
    expect(labelChoices('re', { text: TEXT }, ['treats', 'causes'])).toEqual(['treats', 'causes']);
  });
});
