import { describe, expect, it } from 'vitest';

import { evaluate } from '../../../src-main/tasks/evaluate.js';
import { frameExample, type TaskConfig } from '../../../src-main/tasks/registry.js';
import type { Entity } from '../../../src-main/tasks/types.js';

const TEXT = 'Patient with CKD and type 2 diabetes; started metformin.';
const span = (text: string, type: string): Entity => ({
  start: TEXT.indexOf(text),
  end: TEXT.indexOf(text) + text.length,
  type,
  text,
});

describe('evaluate: metrics per task type with bootstrap intervals', () => {
  it('NER: gold targets fed back score 1; a hallucinated and an unreadable output lower it', () => {
    const config: TaskConfig<'ner'> = { type: 'ner', labels: ['Disease', 'Chemical'] };
    const target = {
      entities: [span('CKD', 'Disease'), span('type 2 diabetes', 'Disease'), span('metformin', 'Chemical')],
    };
    const gold = frameExample(config, { text: TEXT }, target).target;
    const perfect = evaluate(config, [{ input: { text: TEXT }, target, output: gold }], { resamples: 50 });
    expect(perfect.metrics['strictF1']).toMatchObject({ estimate: 1, low: 1, high: 1 });

    const outputs = [gold, 'CKD [SEP] Disease\nasthma [SEP] Disease', 'no idea'];
    const result = evaluate(
      config,
      outputs.map((output) => ({ input: { text: TEXT }, target, output })),
      { resamples: 200, seed: 1 },
    );
    // gold 9 mentions; predicted 3 + 1 aligned + 1 unaligned = 5; tp 4 -> P 0.8, R 4/9, F1 = 2*0.8*(4/9)/(0.8+4/9)
    expect(result.metrics['strictF1']?.estimate).toBeCloseTo((2 * 0.8 * (4 / 9)) / (0.8 + 4 / 9), 12);
    expect(result.unparseable).toBe(1);
    expect(result.problems).toEqual([{ index: 2, raw: 'no idea', problems: ['no idea'] }]);
    expect(result.breakdown?.['Chemical']).toMatchObject({ tp: 1, gold: 3, predicted: 1 });
    expect(result.metrics['strictF1']!.low).toBeLessThanOrEqual(result.metrics['strictF1']!.estimate);
  });

  it('NLI: near-miss labels are read, unreadable outputs are wrong', () => {
    const config: TaskConfig<'nli'> = { type: 'nli', labels: ['Entailment', 'Contradiction'] };
    const item = (label: string, output: string) => ({
      input: { premise: 'p', hypothesis: 'h' },
      target: { label },
      output,
    });
    const result = evaluate(config, [
      item('Entailment', 'entailment'),
      item('Contradiction', 'Contradicton.'),
      item('Entailment', 'Contradiction'),
      item('Contradiction', '???'),
    ]);
    expect(result.metrics['accuracy']?.estimate).toBe(0.5);
    // Entailment: P 1, R 1/2 -> 2/3; Contradiction: P 1/2, R 1/2 -> 1/2; macro 7/12
    expect(result.metrics['macroF1']?.estimate).toBeCloseTo(7 / 12, 12);
    expect(result.unparseable).toBe(1);
  });

  it('free QA uses exact match and token F1; summaries use ROUGE', () => {
    const qa = evaluate({ type: 'qa', labels: [] }, [
      { input: { question: 'q', kind: 'free' }, target: { answer: 'metformin' }, output: 'Metformin.' },
      { input: { question: 'q', kind: 'free' }, target: { answer: 'low dose aspirin' }, output: 'aspirin' },
    ]);
    expect(qa.metrics['exactMatch']?.estimate).toBe(0.5);
    expect(qa.metrics['tokenF1']?.estimate).toBeCloseTo((1 + 0.5) / 2, 12);
    const sum = evaluate({ type: 'summarization', labels: [] }, [
      { input: { source: 's' }, target: { summary: 'testing one two' }, output: 'testing one' },
    ]);
    expect(sum.metrics['rouge2']?.estimate).toBeCloseTo(2 / 3, 12);
    expect(sum.metrics['rougeL']?.estimate).toBeCloseTo(4 / 5, 12);
  });

  it('multiple-choice QA and RE with a given pair are scored as closed labels', () => {
    const options = ['Aspirin', 'Warfarin', 'Heparin'];
    const mc = evaluate({ type: 'qa', labels: ['A', 'B', 'C'] }, [
      { input: { question: 'q', options, kind: 'multiple-choice' }, target: { answer: 'B' }, output: '(b) Warfarin' },
      { input: { question: 'q', options, kind: 'multiple-choice' }, target: { answer: 'C' }, output: 'Heparin' },
      { input: { question: 'q', options, kind: 'multiple-choice' }, target: { answer: 'A' }, output: 'E' },
    ]);
    expect(mc.metrics['accuracy']?.estimate).toBeCloseTo(2 / 3, 12);
    expect(mc.unparseable).toBe(1);
    const pair = { text: '<< EGFR >> and [[ gefitinib ]]', pair: { head: 'EGFR', tail: 'gefitinib' } };
    const re = evaluate({ type: 're', labels: ['INHIBITOR', 'AGONIST'] }, [
      { input: pair, target: { relations: [], label: 'INHIBITOR' }, output: 'inhibitor' },
      { input: pair, target: { relations: [], label: 'AGONIST' }, output: 'INHIBITOR' },
    ]);
    expect(re.metrics['accuracy']?.estimate).toBe(0.5);
    // INHIBITOR: P 1/2, R 1 -> 2/3; AGONIST: 0 -> macro 1/3
    expect(re.metrics['macroF1']?.estimate).toBeCloseTo(1 / 3, 12);
  });

  it('RE over documents scores (head, type, tail) triples', () => {
    const config: TaskConfig<'re'> = { type: 're', labels: ['EFFECT', 'ADVISE'] };
    const relations = [{ type: 'EFFECT', head: span('metformin', ''), tail: span('CKD', '') }];
    const result = evaluate(config, [
      { input: { text: TEXT }, target: { relations }, output: 'metformin ; effect ; CKD\nCKD ; ADVISE ; metformin' },
    ]);
    expect(result.metrics['microF1']?.estimate).toBeCloseTo(2 / 3, 12);
  });
});
