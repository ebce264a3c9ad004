/**
 * The model card states the backbone's use of its context from the measured copy gain (the limit
 * that decides whether soft prompts can steer it), how the windows were made, and the copy curve.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { modelCardText, PRETRAINING_RECORD } from '../../../src-main/services/model-card.js';
import type { PretrainRecord } from '../../../src-main/services/pretraining.js';
import { REPO_ROOT } from '../../support/paths.js';

const shipped = JSON.parse(
  readFileSync(path.join(REPO_ROOT, 'native-models', 'embedded', PRETRAINING_RECORD), 'utf8'),
) as PretrainRecord;
// a one-stage recipe of plain windows, as the first shipped weights were trained
const { stages: _stages, copyCurve: _curve, ...unstaged } = shipped;
const { stages: _recipeStages, probeEvery: _probeEvery, windows: _windows, ...plainRecipe } = shipped.recipe;
const plain: PretrainRecord = { ...unstaged, recipe: plainRecipe };
const withGain = (gain: number): PretrainRecord => ({
  ...shipped,
  heldOut: { ...shipped.heldOut, copy: { ...shipped.heldOut.copy!, gain } },
});

describe('the model card', () => {
  it('says the backbone is blind to its context when the copy gain is near 0, and not when it copies', () => {
    const blind = modelCardText(withGain(0.04));
    expect(blind).toContain('It barely reads its own context');
    expect(blind).not.toContain('It reads back in its context');
    const reads = modelCardText(withGain(1.2));
    expect(reads).toContain('It reads back in its context (a copy gain of 1.20 nats)');
    expect(reads).not.toContain('It barely reads its own context');
  });

  it('says how the windows were made and shows the copy gain measured during training', () => {
    expect(modelCardText(plain)).toContain('Each document is cut into windows on its own.');
    expect(modelCardText(plain)).not.toContain('copy gain (nats)');
    const packed = modelCardText({
      ...plain,
      recipe: {
        ...plain.recipe,
        windows: {
          pack: true,
          repeats: { share: 0.25, startWords: [0, 10], passageWords: [6, 36], gapWords: [0, 24] },
        },
        probeEvery: 100,
      },
      copyCurve: [
        { step: 100, gain: 0.001 },
        { step: 200, gain: 0.5 },
      ],
    });
    expect(packed).toContain('Documents run on from one window into the next');
    expect(packed).toContain(
      '25% of the windows (seeded) hold a passage of 6-36 words that comes back after\n0-24 more words',
    );
    expect(packed).not.toContain('drills');
    const mixed = modelCardText({
      ...plain,
      recipe: {
        ...plain.recipe,
        windows: {
          pack: true,
          drills: { amongText: true, count: 5000, leadWords: [0, 10], passageWords: [6, 36], gapWords: [0, 24] },
        },
      },
    });
    expect(mixed).toContain('Documents run on from one window into the next');
    expect(mixed).toContain('Among them, 5,000 drills for reading back in the context');
    expect(packed).toContain('During training (every 100 steps, on 20 of the spans)');
    expect(packed).toContain('| 200 | 0.500 |');
  });
});
