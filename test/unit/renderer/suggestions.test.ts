/** The Label step's suggestion logic (src-renderer/src/lib/suggestions.ts) and its keyboard word cursor. */
import { describe, expect, it } from 'vitest';

import type { LabelItemView, NoteResultView } from '../../../src-main/ipc/contract.js';
import { wordSpans } from '../../../src-main/tasks/labelling.js';
import { cursorSpan, moveCursor, segments, spanKeys } from '../../../src-renderer/src/lib/labelling.js';
import {
  suggestionOf,
  suggestionSource,
  suggestionsFrom,
  toSuggest,
} from '../../../src-renderer/src/lib/suggestions.js';

const TEXT = 'Fever 38.9C, started ceftriaxone.';
const item = (exampleId: number, marks: LabelItemView['marks'] = []): LabelItemView => ({
  exampleId,
  externalId: null,
  fields: {},
  text: TEXT,
  choices: ['problem', 'treatment'],
  marks,
});
const result = (id: number, patch: Partial<NoteResultView>): NoteResultView => ({
  id: String(id),
  split: 'test',
  input: {},
  output: '',
  ok: true,
  problems: [],
  ...patch,
});

describe('suggestions', () => {
  it('come from the adapted run, else the starting point, else the bare backbone', () => {
    const base = { start: 'shipped' as const, hasMetaPrompt: true };
    expect(suggestionSource({ ...base, run: { outDir: '/r', sameTask: true } }).from).toEqual({
      kind: 'run',
      run: '/r',
    });
    // a run trained on another dataset does not suggest labels for this one
    expect(suggestionSource({ ...base, run: { outDir: '/r', sameTask: false } }).from).toEqual({ kind: 'shipped' });
    expect(suggestionSource({ ...base, start: 'pack', startPack: { name: 'icu', version: 2 } }).from).toEqual({
      kind: 'pack',
      name: 'icu',
      version: 2,
    });
    expect(suggestionSource({ ...base, hasMetaPrompt: false }).from).toEqual({ kind: 'none' });
    expect(suggestionSource({ ...base, start: 'scratch' }).words).toBe('the backbone without a prompt');
  });

  it('asks about the next unlabelled examples not asked before', () => {
    const items = [item(1), item(2, [{ id: 9, label: 'problem', start: 0, end: 5 }]), item(3), item(4), item(5)];
    expect(toSuggest(items, 0, new Set(), 3)).toEqual([1, 3, 4]);
    expect(toSuggest(items, 1, new Set([3]), 3)).toEqual([4, 5]);
    expect(toSuggest(items, 4, new Set([5]), 3)).toEqual([]);
  });

  it('reads an answer as a label, spans of the note, or a summary, and drops what it cannot take', () => {
    const nli = { ...item(1), choices: ['entailment', 'contradiction'] };
    expect(suggestionOf('nli', nli, result(1, { answer: 'contradiction' }))).toEqual({
      kind: 'label',
      label: 'contradiction',
    });
    expect(suggestionOf('nli', nli, result(1, { answer: 'neutral' }))).toBeUndefined();
    expect(suggestionOf('nli', nli, result(1, { ok: false, answer: 'entailment' }))).toBeUndefined();
    expect(suggestionOf('summarization', nli, result(1, { answer: ' Febrile. ' }))).toEqual({
      kind: 'summary',
      text: 'Febrile.',
    });

    const entities = [
      { start: 0, end: 5, type: 'problem', text: 'Fever' },
      { start: -1, end: -1, type: 'problem', text: 'rash' }, // not in the note
      { start: 21, end: 32, type: 'treatment', text: 'ceftriaxone' },
      { start: 6, end: 11, type: 'test', text: '38.9C' }, // not an entity type of the task
    ];
    expect(suggestionOf('ner', item(1), result(1, { entities }))).toEqual({
      kind: 'spans',
      spans: [
        { label: 'problem', start: 0, end: 5 },
        { label: 'treatment', start: 21, end: 32 },
      ],
    });
    // a span over one already marked is not suggested again
    const marked = item(1, [{ id: 4, label: 'problem', start: 0, end: 5 }]);
    expect(suggestionOf('ner', marked, result(1, { entities: entities.slice(0, 1) }))).toBeUndefined();

    const run = { task: 'ner' as const, dataset: 'd', run: '', n: 2, unparseable: 0 };
    const found = suggestionsFrom('ner', [item(7), item(8)], {
      ...run,
      results: [result(8, { entities }), result(99, { entities })],
    });
    expect([...found.keys()]).toEqual([8]);
  });

  it('keeps a and x free for accepting and rejecting', () => {
    expect(Object.fromEntries(spanKeys(['anatomy', 'xray']))).toEqual({ n: 'anatomy', r: 'xray' });
  });
});

describe('keyboard word cursor', () => {
  const words = wordSpans(TEXT);
  const press = (key: string, shiftKey = false) => ({ key, shiftKey });

  it('moves over the words spans snap to, extends with Shift, and selects whole words', () => {
    expect(words.map((w) => TEXT.slice(w.start, w.end))).toEqual(['Fever', '38.9C', 'started', 'ceftriaxone']);
    let c = moveCursor(undefined, words.length, press('ArrowRight'));
    expect(c).toEqual({ anchor: 0, focus: 0 });
    c = moveCursor(c, words.length, press('ArrowRight', true));
    expect(cursorSpan(words, c!)).toEqual({ start: 0, end: 11 });
    c = moveCursor(c, words.length, press('End'));
    expect(c).toEqual({ anchor: 3, focus: 3 });
    c = moveCursor(c, words.length, press('ArrowRight')); // stays on the last word
    c = moveCursor(c, words.length, press('ArrowLeft', true));
    expect(TEXT.slice(cursorSpan(words, c!)!.start, cursorSpan(words, c!)!.end)).toBe('started ceftriaxone');
    expect(moveCursor(undefined, words.length, press('ArrowLeft'))).toEqual({ anchor: 3, focus: 3 });
    expect(moveCursor(c, words.length, press('Enter'))).toBeUndefined();
    expect(moveCursor(undefined, 0, press('ArrowRight'))).toBeUndefined();
  });

  it('shows the selection as its own runs, inside a mark too, with the mark labelled once', () => {
    const runs = segments(TEXT, [{ id: 1, label: 'problem', start: 0, end: 11 }], { start: 6, end: 20 });
    expect(runs.map((r) => [r.text, r.label ?? null, r.cursor ?? false, r.markEnd ?? null])).toEqual([
      ['Fever ', 'problem', false, false],
      ['38.9C', 'problem', true, true],
      [', started', null, true, null],
      [' ceftriaxone.', null, false, null],
    ]);
    expect(runs.map((r) => r.text).join('')).toBe(TEXT);
  });
});
