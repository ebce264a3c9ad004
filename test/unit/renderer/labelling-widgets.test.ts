/** The Label step's widget logic (src-renderer/src/lib/labelling.ts): keys, highlighted runs, progress. */
import { describe, expect, it } from 'vitest';

import {
  choiceKeys,
  describeMark,
  isUndoKey,
  labelForKey,
  mentionsOf,
  moveInList,
  pickMention,
  progress,
  relationsOf,
  segments,
  spanKeys,
  toReverse,
} from '../../../src-renderer/src/lib/labelling.js';

const plain = { ctrlKey: false, metaKey: false, altKey: false };

describe('labelling widgets', () => {
  it('gives closed labels the keys 1..n and entity types a free letter each', () => {
    const keys = choiceKeys(['entailment', 'neutral', 'contradiction']);
    expect([...keys]).toEqual([
      ['1', 'entailment'],
      ['2', 'neutral'],
      ['3', 'contradiction'],
    ]);
    expect(labelForKey(keys, { ...plain, key: '3' })).toBe('contradiction');
    expect(labelForKey(keys, { ...plain, key: '4' })).toBeUndefined();
    // a modifier belongs to the browser (Ctrl+1 switches tabs), never to a label
    expect(labelForKey(keys, { ...plain, key: '1', ctrlKey: true })).toBeUndefined();

    const spans = spanKeys(['problem', 'procedure', 'test', 'treatment', 'uzu']);
    expect(Object.fromEntries(spans)).toEqual({ p: 'problem', r: 'procedure', t: 'test', e: 'treatment', '1': 'uzu' });
    expect(labelForKey(spans, { ...plain, key: 'P' })).toBe('problem');
  });

  it('undo is Ctrl/Cmd+Z or U', () => {
    expect(isUndoKey({ ...plain, key: 'z', ctrlKey: true })).toBe(true);
    expect(isUndoKey({ ...plain, key: 'z', metaKey: true })).toBe(true);
    expect(isUndoKey({ ...plain, key: 'u' })).toBe(true);
    expect(isUndoKey({ ...plain, key: 'z' })).toBe(false);
  });

  it('cuts the text into plain and highlighted runs that add up to the text', () => {
    const text = 'Fever and cough since Monday.';
    const runs = segments(text, [
      { id: 2, label: 'problem', start: 10, end: 15 },
      { id: 1, label: 'problem', start: 0, end: 5 },
      { id: 3, label: 'note', start: null, end: null },
      { id: 4, label: 'test', start: 12, end: 21 }, // overlaps "cough": shown from where it ends
    ]);
    expect(runs.map((r) => [r.text, r.label ?? null])).toEqual([
      ['Fever', 'problem'],
      [' and ', null],
      ['cough', 'problem'],
      [' since', 'test'],
      [' Monday.', null],
    ]);
    expect(runs.map((r) => r.text).join('')).toBe(text);
    expect(segments('', [])).toEqual([{ start: 0, end: 0, text: '' }]);
  });

  it('counts progress towards k', () => {
    expect(progress(2, 5)).toEqual({ text: '2 of 5 examples labelled', share: 0.4 });
    expect(progress(6, 5)).toEqual({ text: '6 of 5 examples labelled: enough to adapt', share: 1 });
  });

  it('RE: lists the mentions once each in text order, picks head then tail, and reads a relation back', () => {
    const text = 'Febrile overnight, started ceftriaxone.';
    const febrile = { start: 0, end: 7 };
    const drug = { start: 27, end: 38 };
    const relation = { id: 3, label: 'treats', start: null, end: null, head: drug, tail: febrile };
    const item = {
      text,
      entities: [{ ...drug, type: 'Drug' }],
      marks: [{ id: 1, label: 'mention', ...febrile }, { id: 2, label: 'mention', ...drug }, relation],
    };
    expect(mentionsOf(item)).toEqual([
      { ...febrile, type: 'mention', text: 'Febrile' },
      { ...drug, type: 'Drug', text: 'ceftriaxone' }, // the example's own mention keeps its type
    ]);
    // first pick the head, then the tail; the head again lets it go; a third pick starts over
    const head = pickMention({}, drug);
    expect(head).toEqual({ head: drug });
    expect(pickMention(head, { ...drug })).toEqual({});
    const both = pickMention(head, febrile);
    expect(both).toEqual({ head: drug, tail: febrile });
    expect(pickMention(both, febrile)).toEqual({ head: febrile });
    expect(describeMark(relation, text)).toBe('"ceftriaxone" → treats → "Febrile"');
    expect(describeMark({ id: 1, label: 'mention', ...febrile }, text)).toBe('mention "Febrile"');
    // arrows move through the list and wrap; other keys do not move
    expect([moveInList(1, 2, 'ArrowRight'), moveInList(0, 2, 'ArrowUp'), moveInList(0, 2, 'End')]).toEqual([0, 1, 1]);
    expect(moveInList(0, 2, 'Enter')).toBeUndefined();
    expect(moveInList(0, 0, 'ArrowDown')).toBeUndefined();
  });

  it('reverses the relation being drawn before it is saved, else the selected or newest saved relation', () => {
    const drug = { start: 27, end: 38 };
    const febrile = { start: 0, end: 7 };
    const older = { id: 3, label: 'causes', start: null, end: null, head: febrile, tail: drug };
    const newer = { id: 5, label: 'treats', start: null, end: null, head: drug, tail: febrile };
    const marks = [{ id: 1, label: 'mention', ...febrile }, older, { id: 4, label: 'mention', ...drug }, newer];
    expect(relationsOf(marks)).toEqual([older, newer]);
    // both ends picked: they swap, nothing is saved yet
    expect(toReverse({ head: drug, tail: febrile }, marks, 3)).toEqual({ drawn: { head: febrile, tail: drug } });
    // half drawn or not at all: the selected saved relation, else the newest
    expect(toReverse({ head: drug }, marks, 3)).toEqual({ saved: 3 });
    expect(toReverse({}, marks, undefined)).toEqual({ saved: 5 });
    expect(toReverse({}, marks, 1)).toEqual({ saved: 5 }); // a mention is no relation
    expect(toReverse({}, [marks[0]!], undefined)).toBeUndefined();
  });
});
