/**
 * How the pretraining corpus becomes training windows, on real transcriptions with the embedded
 * backbone's tokenizer: cut per document or packed so that windows are full, never over budget,
 * losing no text (packed windows are about 80% full: they start at line starts); and the seeded share
 * of windows in which a passage comes back after a gap of random length; and the copy drills cut
 * from random documents, alone or among the text's windows.
 */
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { openBackbone } from '../../../src-main/backbone/load.js';
import { SOURCE_TASKS } from '../../../src-main/data/catalogue.js';
import { copyDrills, repeatPassages, stageWindows, textWindows } from '../../../src-main/services/pretraining.js';
import { pretrainingCorpus } from '../../../src-main/services/pretraining-corpus.js';
import { REPO_ROOT, SHARED_DIR } from '../../support/paths.js';

const backbone = openBackbone(path.join(REPO_ROOT, 'native-models', 'embedded'));
const tokens = (text: string) => backbone.tokenizer.encode(text, { addSpecialTokens: false }).length;
// long transcriptions and short abstracts' sentences, as the real corpus mixes them
const corpus = await pretrainingCorpus(
  path.join(SHARED_DIR, 'data'),
  SOURCE_TASKS.filter((t) => t.name === 'ncbi-disease'),
);
const transcriptions = corpus.sources[0]!.documents;
const documents = [...corpus.train.slice(0, 60), ...corpus.train.slice(transcriptions, transcriptions + 300)];
const BUDGET = 248;
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const squeeze = (text: string) => text.replace(/\s+/g, '');

describe('training windows', () => {
  const single = textWindows(backbone, documents, BUDGET);
  const packed = textWindows(backbone, documents, BUDGET, true);

  it('stay within the budget and lose no text, cut per document or packed', () => {
    for (const windows of [single, packed]) {
      // a window's text may tokenize a token or two longer on its own than counted line by line
      expect(Math.max(...windows.map(tokens))).toBeLessThanOrEqual(BUDGET + 4);
      expect(squeeze(windows.join(''))).toBe(squeeze(documents.join('')));
    }
  });

  it('cut per document, no window holds two documents; packed, windows are full', () => {
    const starts = new Set(documents.map((d) => d.split('\n')[0]!));
    expect(single.filter((w) => w.includes('\n\n'))).toEqual([]);
    expect(packed.filter((w) => w.includes('\n\n')).length).toBeGreaterThan(10);
    expect(
      packed.some((w) =>
        w
          .split('\n\n')
          .slice(1)
          .some((part) => starts.has(part.split('\n')[0]!)),
      ),
    ).toBe(true);
    // windows start at a line's start, so a long paragraph line leaves the end of the one before unused
    const full = packed.slice(0, -1).map(tokens);
    expect(mean(full)).toBeGreaterThan(0.75 * BUDGET);
    expect(mean(full)).toBeGreaterThan(1.5 * mean(single.map(tokens)));
    expect(packed.length).toBeLessThan(single.length);
  });
});

describe('passages that come back', () => {
  const windows = textWindows(backbone, documents, BUDGET, true);
  const REPEATS = { share: 0.25, startWords: [0, 10], passageWords: [6, 36], gapWords: [0, 24] } as const;
  const words = (text: string) => text.match(/\S+/g) ?? [];
  /** The (start, length, gap) that turn `original` into `repeated`, searched over the recipe's ranges. */
  const placement = (original: string, repeated: string) => {
    const [o, r] = [words(original), words(repeated).slice(0, -1)]; // the end may be cut inside a word
    for (let start = REPEATS.startWords[0]; start <= REPEATS.startWords[1]; start++)
      for (let length = REPEATS.passageWords[0]; length <= REPEATS.passageWords[1]; length++)
        for (let gap = REPEATS.gapWords[0]; gap <= REPEATS.gapWords[1]; gap++) {
          const at = start + length + gap;
          if (r.length < at + length) continue; // the whole copy must be there
          const expected = [...o.slice(0, at), ...o.slice(start, start + length), ...o.slice(at)];
          if (r.every((w, i) => w === expected[i])) return { start, length, gap };
        }
    return undefined;
  };

  it('give a seeded share of the windows a passage written again after a random gap, within the budget', () => {
    const repeated = repeatPassages(backbone, windows, REPEATS, BUDGET, 7);
    expect(repeated).toHaveLength(windows.length);
    const changed = repeated.map((w, i) => (w === windows[i] ? -1 : i)).filter((i) => i >= 0);
    expect(changed.length).toBeGreaterThan(0.12 * windows.length);
    expect(changed.length).toBeLessThan(0.38 * windows.length);
    const gaps = new Set<number>();
    const lengths = new Set<number>();
    for (const i of changed) {
      expect(tokens(repeated[i]!)).toBeLessThanOrEqual(BUDGET + 4);
      const found = placement(windows[i]!, repeated[i]!);
      expect(found, `window ${i}`).toBeDefined();
      gaps.add(found!.gap);
      lengths.add(found!.length);
    }
    // the distance back to the passage varies, so only its content can say where the copy comes from
    expect(gaps.size).toBeGreaterThan(10);
    expect(lengths.size).toBeGreaterThan(10);
  });

  it('are the same for a seed, differ between seeds, and are absent at share 0', () => {
    const at = (seed: number, share: number = REPEATS.share) =>
      repeatPassages(backbone, windows, { ...REPEATS, share }, BUDGET, seed);
    expect(at(7)).toEqual(at(7));
    expect(at(8)).not.toEqual(at(7));
    expect(at(7, 0)).toEqual(windows);
    expect(repeatPassages(backbone, windows, undefined, BUDGET, 7)).toEqual(windows);
  });
});

describe('copy drills', () => {
  const DRILLS = { count: 200, leadWords: [0, 10], passageWords: [6, 36], gapWords: [0, 24] } as const;
  const drills = copyDrills(backbone, documents, DRILLS, BUDGET, 7);
  const documentText = documents.map((d) => ` ${(d.match(/\S+/g) ?? []).join(' ')} `);
  const fromSomeDocument = (words: readonly string[]) => documentText.some((d) => d.includes(` ${words.join(' ')} `));

  it('are a lead, a passage, a gap and the passage again, each cut from the corpus, within the budget', () => {
    expect(drills).toHaveLength(200);
    const gaps = new Set<number>();
    for (const drill of drills) {
      expect(tokens(drill)).toBeLessThanOrEqual(BUDGET + 4);
      const words = drill.split(' ');
      // the first split into lead, passage, gap and copy whose pieces each come from a document
      // (several splits can repeat: a lead and a gap may end on the same word)
      let found: { lead: number; passage: number; gap: number } | undefined;
      for (let lead = 0; lead <= 10 && !found; lead++)
        for (let passage = 6; passage <= 36 && !found; passage++) {
          const gap = words.length - lead - 2 * passage;
          if (gap < 0 || gap > 24) continue;
          const first = words.slice(lead, lead + passage);
          if (first.join(' ') !== words.slice(lead + passage + gap).join(' ')) continue;
          const gapWords = words.slice(lead + passage, lead + passage + gap);
          if (fromSomeDocument(first) && (gap === 0 || fromSomeDocument(gapWords))) found = { lead, passage, gap };
        }
      expect(found, drill).toBeDefined();
      const { gap } = found!;
      gaps.add(gap);
    }
    // the distance back to the passage varies, so only its content says where the copy comes from
    expect(gaps.size).toBeGreaterThan(15);
  });

  it('are the same for a seed and differ between seeds', () => {
    expect(copyDrills(backbone, documents, DRILLS, BUDGET, 7)).toEqual(drills);
    expect(copyDrills(backbone, documents, DRILLS, BUDGET, 8)).not.toEqual(drills);
  });

  it('replace the text windows, or join them untouched with a stream of their own', () => {
    const packed = textWindows(backbone, documents, BUDGET, true);
    expect(stageWindows(backbone, documents, { pack: true, drills: DRILLS }, BUDGET, 7)).toEqual(drills);
    const mixed = stageWindows(backbone, documents, { pack: true, drills: { ...DRILLS, amongText: true } }, BUDGET, 7);
    expect(mixed).toHaveLength(packed.length + DRILLS.count);
    expect(mixed.slice(0, packed.length)).toEqual(packed);
    const among = mixed.slice(packed.length);
    // drills of the same recipe and seed, but not the same draws as a drills-only stage's
    expect(among.filter((d) => drills.includes(d)).length).toBeLessThan(5);
    expect(among.every((d) => tokens(d) <= BUDGET + 4)).toBe(true);
  });

  it('refuse a recipe whose pieces are longer than every document', () => {
    expect(() => copyDrills(backbone, ['too short a note'], { ...DRILLS, passageWords: [6, 36] }, BUDGET, 7)).toThrow(
      'Recipe: drills: no document of the corpus has 36 words',
    );
  });
});
