import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { chooseLabel, predictClosedLabel, type SequenceScorer } from '../../../src-main/tasks/closed-label.js';
import { frameExample, framePrompt, type TaskConfig } from '../../../src-main/tasks/registry.js';
import type { QaInput } from '../../../src-main/tasks/types.js';
import { SHARED_DIR } from '../../support/paths.js';
import { CharNgramLm } from './char-ngram-lm.js';

// The backbone's log-likelihood scorer is built elsewhere; these tests drive the selection logic
// with a real character n-gram model trained on PubMedQA (see char-ngram-lm.ts), not a stub.
interface PubMedQaRecord {
  QUESTION: string;
  CONTEXTS: string[];
  final_decision: string;
}
const records = Object.values(
  JSON.parse(readFileSync(path.join(SHARED_DIR, 'data/qa/pubmedqa/ori_pqal.json'), 'utf8')) as Record<
    string,
    PubMedQaRecord
  >,
).slice(0, 300);
const config: TaskConfig<'qa'> = { type: 'qa', labels: ['yes', 'no', 'maybe'] };
const inputOf = (r: PubMedQaRecord): QaInput => ({ question: r.QUESTION, kind: 'yes-no-maybe' });
const framed = records.map((r) => frameExample(config, inputOf(r), { answer: r.final_decision }));
const lm = new CharNgramLm(
  5,
  framed.slice(0, 250).map((f) => f.prompt + f.target),
);

describe('the character n-gram scorer used by these tests', () => {
  it('is a proper distribution over its vocabulary', () => {
    const total = [...lm.vocabulary].reduce((sum, c) => sum + lm.probability('Answer:', c), 0);
    expect(total).toBeCloseTo(1, 10);
  });
});

describe('closed-label scoring', () => {
  it('chooses the label with the highest log-likelihood and reports a softmax over the labels', async () => {
    const held = records.slice(250);
    for (const record of held.slice(0, 20)) {
      const prompt = framePrompt(config, inputOf(record));
      const choice = await predictClosedLabel(lm, config, inputOf(record));
      const expected = config.labels.map((l) => lm.logLikelihood(prompt, ` ${l}`));
      const best = expected.indexOf(Math.max(...expected));
      expect(choice.label).toBe(config.labels[best]);
      expect(choice.scores.map((s) => s.logLikelihood)).toEqual(expected);
      expect(choice.scores.reduce((sum, s) => sum + s.probability, 0)).toBeCloseTo(1, 12);
    }
  });

  it('follows what the model learned: the training prior of PubMedQA answers', async () => {
    // A model that has only seen "Answer: maybe" prefers maybe; one trained on the real answers
    // prefers the majority answer of its training data for held-out questions once scores are
    // compared per character (summed, this weak model favours the shortest label, " no").
    const maybeOnly = new CharNgramLm(
      5,
      framed.slice(0, 50).map((f) => `${f.prompt} maybe`),
    );
    expect((await predictClosedLabel(maybeOnly, config, inputOf(records[260]!))).label).toBe('maybe');
    const counts = new Map<string, number>();
    for (const r of records.slice(0, 250)) counts.set(r.final_decision, (counts.get(r.final_decision) ?? 0) + 1);
    const majority = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    const chosen = await Promise.all(
      records.slice(250).map((r) => predictClosedLabel(lm, config, inputOf(r), { normalization: 'per-character' })),
    );
    const share = chosen.filter((c) => c.label === majority).length / chosen.length;
    expect(share).toBeGreaterThan(0.5);
  });

  it('per-character normalisation can change the choice between labels of different lengths', async () => {
    const fixed: SequenceScorer = { scoreContinuations: async () => [-3, -4.2] };
    expect((await chooseLabel(fixed, 'p', ['no', 'contradiction'])).label).toBe('no');
    // -3 / 3 chars = -1 per char; -4.2 / 14 chars = -0.3 per char
    expect((await chooseLabel(fixed, 'p', ['no', 'contradiction'], { normalization: 'per-character' })).label).toBe(
      'contradiction',
    );
  });

  it('refuses a scorer that answers with the wrong number of scores, and free-text tasks', async () => {
    const broken: SequenceScorer = { scoreContinuations: async () => [-1] };
    await expect(chooseLabel(broken, 'p', ['yes', 'no'])).rejects.toThrow(/1 scores for 2 candidates/);
    await expect(predictClosedLabel(lm, { type: 'summarization', labels: [] }, { source: 'x' })).rejects.toThrow(
      /no closed label set/,
    );
  });
});
