/**
 * How the pretraining corpus becomes training windows, on real transcriptions with the embedded
 * backbone's tokenizer: cut per document or packed so that windows are full, never over budget,
 * losing no text (packed windows are about 80% full: they start at line starts); and the seeded share of windows that hold a passage written twice.
 */
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { openBackbone } from '../../../src-main/backbone/load.js';
import { SOURCE_TASKS } from '../../../src-main/data/catalogue.js';
import { repeatPassages, textWindows } from '../../../src-main/services/pretraining.js';
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

describe('passages written twice', () => {
  const windows = textWindows(backbone, documents, BUDGET, true);

  it('replace a seeded share of the windows by their first half, twice, within the budget', () => {
    const repeated = repeatPassages(backbone, windows, 0.25, 7);
    expect(repeated).toHaveLength(windows.length);
    const changed = repeated.map((w, i) => (w === windows[i] ? -1 : i)).filter((i) => i >= 0);
    expect(changed.length).toBeGreaterThan(0.12 * windows.length);
    expect(changed.length).toBeLessThan(0.38 * windows.length);
    for (const i of changed) {
      const w = repeated[i]!;
      const half = (w.length - 1) / 2;
      const [first, second] = [w.slice(0, half), w.slice(half + 1)];
      expect(w[half]).toBe('\n');
      expect(first).toBe(second);
      expect(windows[i]!.startsWith(first)).toBe(true);
      expect(tokens(first)).toBeLessThanOrEqual(tokens(windows[i]!) / 2 + 2);
      expect(tokens(w)).toBeLessThanOrEqual(BUDGET + 4);
    }
  });

  it('are the same for a seed, differ between seeds, and are absent at share 0', () => {
    expect(repeatPassages(backbone, windows, 0.25, 7)).toEqual(repeatPassages(backbone, windows, 0.25, 7));
    expect(repeatPassages(backbone, windows, 0.25, 8)).not.toEqual(repeatPassages(backbone, windows, 0.25, 7));
    expect(repeatPassages(backbone, windows, 0, 7)).toEqual(windows);
  });
});
