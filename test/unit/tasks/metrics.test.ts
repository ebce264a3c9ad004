import { describe, expect, it } from 'vitest';

import { bootstrapCI, quantile } from '../../../src-main/tasks/metrics/bootstrap.js';
import { classificationScores } from '../../../src-main/tasks/metrics/classification.js';
import { nerScores, relationScores } from '../../../src-main/tasks/metrics/entities.js';
import { exactMatch, freeAnswerScores, tokenF1 } from '../../../src-main/tasks/metrics/qa.js';
import type { Entity, Relation } from '../../../src-main/tasks/types.js';

const e = (start: number, end: number, type: string, text = ''): Entity => ({ start, end, type, text });

describe('NER scores', () => {
  it('strict and lenient micro P/R/F1 with a per-type breakdown (hand-computed)', () => {
    // Gold: 3 Disease + 1 Chemical. Predicted: one exact Disease, one Disease overlapping a gold
    // Disease, one Chemical span with the wrong type, one spurious Chemical.
    const docs = [
      {
        gold: [e(0, 8, 'Disease'), e(20, 35, 'Disease'), e(50, 60, 'Chemical')],
        predicted: [e(0, 8, 'Disease'), e(25, 35, 'Disease'), e(50, 60, 'Disease')],
      },
      { gold: [e(5, 9, 'Disease')], predicted: [e(70, 75, 'Chemical')] },
    ];
    const { strict, lenient } = nerScores(docs);
    // strict: tp 1 of 4 predicted, 4 gold -> P = R = F = 0.25
    expect(strict.micro).toMatchObject({ tp: 1, predicted: 4, gold: 4, precision: 0.25, recall: 0.25, f1: 0.25 });
    // lenient: the overlapping Disease also counts -> 2/4
    expect(lenient.micro).toMatchObject({ tp: 2, precision: 0.5, recall: 0.5, f1: 0.5 });
    // per type, lenient: Disease tp 2, predicted 3, gold 3; Chemical tp 0, predicted 1, gold 1
    expect(lenient.perType['Disease']).toMatchObject({ tp: 2, predicted: 3, gold: 3 });
    expect(lenient.perType['Disease']?.f1).toBeCloseTo(2 / 3, 12);
    expect(lenient.perType['Chemical']).toMatchObject({ tp: 0, predicted: 1, gold: 1, f1: 0 });
  });

  it('matches each gold mention at most once, and discontinuous spans by all fragments', () => {
    const gold: Entity[] = [
      {
        start: 0,
        end: 20,
        type: 'DRUG',
        text: '',
        fragments: [
          { start: 0, end: 5 },
          { start: 15, end: 20 },
        ],
      },
    ];
    const { strict, lenient } = nerScores([{ gold, predicted: [e(0, 5, 'DRUG'), e(2, 6, 'DRUG')] }]);
    expect(strict.micro.tp).toBe(0);
    expect(lenient.micro).toMatchObject({ tp: 1, predicted: 2, gold: 1 });
    expect(nerScores([{ gold, predicted: gold }]).strict.micro.f1).toBe(1);
  });

  it('an unaligned mention (offset -1) is a false positive', () => {
    const { lenient } = nerScores([{ gold: [e(0, 3, 'X')], predicted: [e(-1, -1, 'X')] }]);
    expect(lenient.micro).toMatchObject({ tp: 0, predicted: 1, gold: 1 });
  });
});

describe('RE scores', () => {
  it('micro F1 over (head, type, tail) by normalised text, duplicates counted once', () => {
    const r = (head: string, type: string, tail: string): Relation => ({
      type,
      head: e(0, 0, '', head),
      tail: e(0, 0, '', tail),
    });
    const scores = relationScores([
      {
        gold: [r('aspirin', 'EFFECT', 'warfarin'), r('a', 'ADVISE', 'b')],
        predicted: [r('Aspirin', 'EFFECT', ' warfarin'), r('aspirin', 'EFFECT', 'warfarin'), r('a', 'EFFECT', 'b')],
      },
    ]);
    // predicted set {aspirin EFFECT warfarin, a EFFECT b}: tp 1 of 2, gold 2 -> 0.5
    expect(scores.micro).toMatchObject({ tp: 1, predicted: 2, gold: 2, f1: 0.5 });
    expect(scores.perType['ADVISE']).toMatchObject({ tp: 0, predicted: 0, gold: 1 });
  });
});

describe('classification scores', () => {
  it('accuracy, macro-F1 (hand-computed) and unparseable outputs as wrong', () => {
    const pairs = [
      { gold: 'yes', predicted: 'yes' },
      { gold: 'yes', predicted: 'no' },
      { gold: 'no', predicted: 'no' },
      { gold: 'maybe', predicted: null },
    ];
    const s = classificationScores(pairs, ['yes', 'no', 'maybe']);
    expect(s.accuracy).toBe(0.5);
    // yes: P 1, R 1/2, F 2/3; no: P 1/2, R 1, F 2/3; maybe: F 0 -> macro 4/9
    expect(s.macroF1).toBeCloseTo(4 / 9, 12);
    expect(s.unparseable).toBe(1);
  });

  it('micro-F1 over positive labels when a negative label is named (ChemProt convention)', () => {
    const s = classificationScores(
      [
        { gold: 'CPR:3', predicted: 'CPR:3' },
        { gold: 'false', predicted: 'CPR:4' },
        { gold: 'CPR:4', predicted: 'false' },
        { gold: 'false', predicted: 'false' },
      ],
      ['CPR:3', 'CPR:4', 'false'],
      { negativeLabel: 'false' },
    );
    // positive: tp 1, predicted 2, gold 2 -> 0.5
    expect(s.positiveMicroF1).toBe(0.5);
  });
});

describe('free-answer QA (SQuAD normalisation)', () => {
  it('exact match and token F1', () => {
    expect(exactMatch('The Aspirin.', 'aspirin')).toBe(1);
    expect(exactMatch('aspirin 81 mg', 'aspirin')).toBe(0);
    // pred tokens [low, dose, aspirin], gold [aspirin, daily]: common 1, P 1/3, R 1/2, F 0.4
    expect(tokenF1('a low dose aspirin', 'aspirin daily')).toBeCloseTo(0.4, 12);
    expect(tokenF1('aspirin', ['warfarin', 'aspirin'])).toBe(1);
    expect(
      freeAnswerScores([
        { predicted: 'aspirin', gold: 'aspirin' },
        { predicted: null, gold: 'x' },
      ]),
    ).toEqual({
      n: 2,
      exactMatch: 0.5,
      tokenF1: 0.5,
    });
  });
});

describe('bootstrap confidence intervals', () => {
  it('quantiles interpolate linearly (numpy default)', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 12);
  });

  it('brackets the estimate, is reproducible from its seed and narrows with more data', () => {
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const small = Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? 0 : 1));
    const large = Array.from({ length: 4000 }, (_, i) => (i % 4 === 0 ? 0 : 1));
    const a = bootstrapCI(small, mean, { seed: 7, resamples: 500 });
    expect(a.estimate).toBe(0.75);
    expect(a.low).toBeLessThan(0.75);
    expect(a.high).toBeGreaterThan(0.75);
    expect(bootstrapCI(small, mean, { seed: 7, resamples: 500 })).toEqual(a);
    const b = bootstrapCI(large, mean, { seed: 7, resamples: 500 });
    expect(b.high - b.low).toBeLessThan((a.high - a.low) / 5);
    // The normal approximation's 95% half-width for p = 0.75, n = 40 is 1.96 * sqrt(p(1-p)/n) = 0.134.
    expect((a.high - a.low) / 2).toBeGreaterThan(0.09);
    expect((a.high - a.low) / 2).toBeLessThan(0.18);
  });

  it('matches the exact bootstrap distribution of a proportion (binomial quantiles)', () => {
    // Resampling 30 examples, 26 right, makes the resampled accuracy Binomial(30, 26/30) / 30, whose
    // 2.5% and 97.5% quantiles are 22/30 and 29/30 (scipy.stats.binom.ppf([0.025, 0.975], 30, 26/30)).
    // Both fall well inside one atom of the distribution (P(X <= 21) = 0.014, P(X <= 22) = 0.039;
    // P(X <= 28) = 0.923, P(X <= 29) = 0.986), so with 4,000 resamples the percentile interval lands
    // on them exactly (the empirical CDF's error is about 0.0025, a quarter of the margin).
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const right = Array.from({ length: 30 }, (_, i) => (i < 26 ? 1 : 0));
    const ci = bootstrapCI(right, mean, { seed: 3, resamples: 4000 });
    expect(ci).toMatchObject({ confidence: 0.95, resamples: 4000 });
    expect(ci.estimate).toBeCloseTo(26 / 30, 12);
    expect(ci.low).toBeCloseTo(22 / 30, 12);
    expect(ci.high).toBeCloseTo(29 / 30, 12);
  });
});
