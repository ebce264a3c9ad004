/**
 * Closed-label scoring (src-main/tasks/closed-label.ts) over the real backbone's continuation
 * scorer (src-main/backbone/generate/scoring.ts) on stories260K, a real pretrained model: the
 * `SequenceScorer` interface the tasks define is met by the backbone with a one-line adapter, and
 * the label the model itself would generate wins.
 */
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BackboneRunner } from '../../../src-main/backbone/generate/runner.js';
import { scoreContinuations } from '../../../src-main/backbone/generate/scoring.js';
import { openBackbone } from '../../../src-main/backbone/load.js';
import { chooseLabel, predictClosedLabel, type SequenceScorer } from '../../../src-main/tasks/closed-label.js';
import { SHARED_DIR } from '../../support/paths.js';
import { makeTempDir } from '../../support/temp.js';

const STORIES_DIR = path.join(SHARED_DIR, 'models', 'stories260K');

describe('closed-label scoring on a real backbone (stories260K)', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let runner: BackboneRunner;
  let scorer: SequenceScorer;
  beforeAll(async () => {
    tmp = makeTempDir();
    runner = await BackboneRunner.create(openBackbone(STORIES_DIR, { cacheDir: tmp.dir }), { threads: 1 });
    scorer = { scoreContinuations: (prompt, candidates) => scoreContinuations(runner, prompt, candidates) };
  });
  afterAll(async () => {
    await runner.release();
    tmp.cleanup();
  });

  it("picks the model's own continuation among the labels, with the backbone's log-likelihoods", async () => {
    const prompt = 'Once upon a time, there was a little girl named';
    const choice = await chooseLabel(scorer, prompt, ['Tom', 'Lily', 'zzzq']);
    expect(choice.label).toBe('Lily'); // greedy decoding continues with " Lily" (../shared/data/README.md)
    const direct = await scoreContinuations(runner, prompt, [' Tom', ' Lily', ' zzzq']);
    expect(choice.scores.map((s) => s.label)).toEqual(['Tom', 'Lily', 'zzzq']);
    choice.scores.forEach((s, i) => expect(s.logLikelihood).toBeCloseTo(direct[i]!, 5));
    expect(choice.scores.reduce((sum, s) => sum + s.probability, 0)).toBeCloseTo(1, 10);
  });

  it('frames a task example with its template and scores only the allowed labels', async () => {
    const choice = await predictClosedLabel(
      scorer,
      { type: 'nli', labels: ['Entailment', 'Contradiction'] },
      { premise: 'Lily went to the park.', hypothesis: 'Lily was outside.' },
    );
    expect(['Entailment', 'Contradiction']).toContain(choice.label);
    expect(choice.scores.map((s) => s.label)).toEqual(['Entailment', 'Contradiction']);
    expect(choice.scores.every((s) => Number.isFinite(s.logLikelihood) && s.logLikelihood < 0)).toBe(true);
  });
});
