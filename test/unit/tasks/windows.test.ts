import { describe, expect, it } from 'vitest';

import { seededRandom, randomInt } from '../../../src-main/common/random.js';
import {
  frameNerWindows,
  mergeWindowEntities,
  predictNerLongNote,
  slidingWindows,
  windowEntities,
} from '../../../src-main/tasks/windows.js';
import type { Entity } from '../../../src-main/tasks/types.js';

/** A long note of random words with a mention every few words (seeded, so failures reproduce). */
function syntheticNote(seed: number, words: number): { text: string; entities: Entity[] } {
  const random = seededRandom(seed);
  const vocabulary = ['the', 'patient', 'was', 'seen', 'with', 'pain', 'and', 'no', 'fever', 'today'];
  const mentions = [
    'acute kidney injury',
    'type 2 diabetes mellitus',
    'CKD',
    'heart failure with reduced ejection fraction',
  ];
  let text = '';
  const entities: Entity[] = [];
  for (let i = 0; i < words; i++) {
    if (text !== '') text += random() < 0.1 ? '\n' : ' ';
    if (random() < 0.15) {
      const mention = mentions[randomInt(random, mentions.length)] as string;
      entities.push({ start: text.length, end: text.length + mention.length, type: 'Disease', text: mention });
      text += mention;
    } else {
      text += vocabulary[randomInt(random, vocabulary.length)];
    }
  }
  return { text, entities };
}

describe('sliding windows over long notes', () => {
  it('cover the note, cut on whitespace and keep every mention whole in some window', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const { text, entities } = syntheticNote(seed, 600);
      const options = { size: 200 + seed * 7, overlap: 60 };
      const windows = slidingWindows(text, options);
      expect(windows[0]?.start).toBe(0);
      expect(windows.at(-1)?.end).toBe(text.length);
      for (const [i, w] of windows.entries()) {
        expect(w.end - w.start).toBeLessThanOrEqual(options.size);
        if (i > 0) expect(w.start).toBeLessThanOrEqual(windows[i - 1]!.end - options.overlap);
        if (w.end < text.length) expect(text[w.end]).toMatch(/\s/);
      }
      for (const e of entities) expect(windows.some((w) => w.start <= e.start && e.end <= w.end)).toBe(true);
      const perWindow = windowEntities(text, entities, options);
      expect(new Set(perWindow.flatMap((w) => w.entities.map((x) => x.start + w.start)))).toEqual(
        new Set(entities.map((e) => e.start)),
      );
    }
  });

  it('merging window predictions restores note offsets, dropping mentions cut by an edge', () => {
    const { text, entities } = syntheticNote(3, 400);
    const options = { size: 180, overlap: 50 };
    // Each window "predicts" its whole mentions plus the truncated part of any mention crossing its end.
    const predictions = slidingWindows(text, options).map((w) => ({
      ...w,
      entities: entities.flatMap((e) => {
        if (e.start >= w.start && e.end <= w.end) return [{ ...e, start: e.start - w.start, end: e.end - w.start }];
        if (e.start >= w.start && e.start < w.end && e.end > w.end) {
          return [{ ...e, start: e.start - w.start, end: w.end - w.start, text: text.slice(e.start, w.end) }];
        }
        return [];
      }),
    }));
    expect(predictions.some((p) => p.entities.some((e) => e.end === p.end - p.start))).toBe(true);
    expect(mergeWindowEntities(predictions)).toEqual(entities);
  });

  it('rejects an overlap that leaves no room to advance', () => {
    expect(() => slidingWindows('abc', { size: 100, overlap: 50 })).toThrow(/must exceed twice the overlap/);
  });
});

describe('long notes end to end: framing windows and merging generated answers', () => {
  const config = { type: 'ner' as const, labels: ['Disease'] };
  const { text, entities } = syntheticNote(11, 500);
  const options = { size: 300, overlap: 60 };

  it('frames one training example per window whose targets name only the mentions inside it', () => {
    const framed = frameNerWindows(config, text, entities, options);
    expect(framed.length).toBeGreaterThan(5);
    for (const f of framed) {
      expect(f.prompt).toContain(text.slice(f.start, f.start + 40));
      expect(f.target === ' none' || f.target.includes('[SEP] Disease')).toBe(true);
    }
  });

  it('recovers every mention of the note from per-window answers, including those near window edges', async () => {
    // The stand-in for the backbone answers each window with the gold mentions its text holds,
    // written in the target format, so this exercises framing, parsing, alignment and merging.
    const mentions = [...new Set(entities.map((e) => e.text))];
    const generate = async (prompt: string) => {
      const windowText = prompt.slice(prompt.indexOf('Text: ') + 6, prompt.lastIndexOf('\n\nAnswer:'));
      const found = mentions.filter((m) => windowText.includes(m));
      return found.length === 0 ? 'none' : found.map((m) => `${m} [SEP] Disease`).join('\n');
    };
    const result = await predictNerLongNote(config, text, options, generate);
    expect(result.unreadableWindows).toEqual([]);
    expect(result.entities.map((e) => [e.start, e.end])).toEqual(entities.map((e) => [e.start, e.end]));
  });
});
