import { describe, expect, it } from 'vitest';

import { UserError } from '../../../src-main/common/errors.js';
import { alignMentions, findOccurrences } from '../../../src-main/tasks/align.js';
import { editDistance, matchLabel } from '../../../src-main/tasks/labels.js';
import { parseLabel, parseNer, parseOptionAnswer, parseRe } from '../../../src-main/tasks/parse.js';
import { frameExample, framePrompt, parseOutput, type TaskConfig } from '../../../src-main/tasks/registry.js';
import { renderTemplate } from '../../../src-main/tasks/templates.js';
import type { Entity } from '../../../src-main/tasks/types.js';

const NOTE = 'Pt with type 2 diabetes and CKD. Diabetes controlled on metformin; metformin held for AKI.';
const at = (text: string, from = 0) => NOTE.indexOf(text, from);

describe('labels', () => {
  it('forgives case, punctuation, separators and near misses, but not ambiguity', () => {
    const labels = ['Entailment', 'Contradiction', 'Neutral'];
    expect(matchLabel('  entailment. ', labels)).toBe('Entailment');
    expect(matchLabel('"CONTRADICTION"', labels)).toBe('Contradiction');
    expect(matchLabel('Contradicton', labels)).toBe('Contradiction');
    expect(matchLabel('neutral because the premise is silent', labels)).toBe('Neutral');
    expect(matchLabel('banana', labels)).toBeUndefined();
    const evidence = ['no', 'no significant difference', 'significantly increased'];
    expect(matchLabel('No significant difference, p = 0.4', evidence)).toBe('no significant difference');
    expect(matchLabel('no, it did not', evidence)).toBe('no');
    expect(matchLabel('drug_n', ['DRUG_N', 'DRUG'])).toBe('DRUG_N');
    expect(matchLabel('CPR:5', ['CPR:3', 'CPR:4'])).toBeUndefined();
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('alignment of mentions to offsets', () => {
  it('maps each mention to every word-bounded occurrence, case-insensitively as a fallback', () => {
    expect(findOccurrences(NOTE, 'metformin')).toEqual([
      { start: at('metformin'), end: at('metformin') + 9 },
      { start: at('metformin', at('metformin') + 1), end: at('metformin', at('metformin') + 1) + 9 },
    ]);
    // Exact case wins over the case-insensitive match.
    expect(findOccurrences(NOTE, 'Diabetes')).toEqual([{ start: at('Diabetes'), end: at('Diabetes') + 8 }]);
    expect(findOccurrences(NOTE, 'CKD')).toHaveLength(1);
    expect(findOccurrences(NOTE, 'KD')).toHaveLength(0);
    expect(findOccurrences(NOTE, 'type  2\ndiabetes')).toEqual([{ start: at('type 2'), end: at('type 2') + 15 }]);
  });

  it('collapses duplicates and reports mentions not in the note', () => {
    const { entities, unaligned } = alignMentions(NOTE, [
      { text: 'CKD', type: 'Disease' },
      { text: 'ckd', type: 'Disease' },
      { text: 'heart failure', type: 'Disease' },
    ]);
    expect(entities).toEqual([{ start: at('CKD'), end: at('CKD') + 3, type: 'Disease', text: 'CKD' }]);
    expect(unaligned).toEqual([{ text: 'heart failure', type: 'Disease' }]);
  });
});

describe('NER framing and parsing', () => {
  const config: TaskConfig<'ner'> = { type: 'ner', labels: ['Disease', 'Chemical'] };
  const gold: Entity[] = [
    { start: at('type 2 diabetes'), end: at('type 2 diabetes') + 15, type: 'Disease', text: 'type 2 diabetes' },
    { start: at('CKD'), end: at('CKD') + 3, type: 'Disease', text: 'CKD' },
    { start: at('metformin'), end: at('metformin') + 9, type: 'Chemical', text: 'metformin' },
    {
      start: at('metformin', at('metformin') + 1),
      end: at('metformin', at('metformin') + 1) + 9,
      type: 'Chemical',
      text: 'metformin',
    },
    { start: at('AKI'), end: at('AKI') + 3, type: 'Disease', text: 'AKI' },
  ];

  it('serialises distinct mentions in order and parses them back to the gold offsets', () => {
    const framed = frameExample(config, { text: NOTE }, { entities: gold });
    expect(framed.prompt).toContain('Disease, Chemical');
    expect(framed.prompt).toContain(NOTE);
    expect(framed.target).toBe(
      ' type 2 diabetes [SEP] Disease\nCKD [SEP] Disease\nmetformin [SEP] Chemical\nAKI [SEP] Disease',
    );
    const parsed = parseOutput(config, framed.target, { text: NOTE });
    expect(parsed.ok).toBe(true);
    expect((parsed.value as { entities: Entity[] }).entities).toEqual(gold);
    expect(frameExample(config, { text: 'No findings.' }, { entities: [] }).target).toBe(' none');
  });

  it('survives bullets, case, near-miss types and duplicates; keeps unreadable lines as problems', () => {
    const output = '- CKD [sep] disease\n2. ckd [SEP] Disease\nmetformin\tChemcal\nsomething odd\nAKI | DISEASE';
    const parsed = parseNer(output, NOTE, config.labels);
    expect(parsed.ok).toBe(true);
    expect(parsed.value.entities.map((e) => [e.text, e.type])).toEqual([
      ['CKD', 'Disease'],
      ['metformin', 'Chemical'],
      ['metformin', 'Chemical'],
      ['AKI', 'Disease'],
    ]);
    expect(parsed.problems).toEqual(['something odd']);
  });

  it('counts an output with no readable line as unparseable', () => {
    const parsed = parseNer('I cannot help with that.', NOTE, config.labels);
    expect(parsed.ok).toBe(false);
    expect(parsed.value.entities).toEqual([]);
    expect(parseNer('None.', NOTE, config.labels).ok).toBe(true);
  });
});

describe('RE, QA and NLI framing and parsing', () => {
  it('RE over a document: head ; TYPE ; tail lines, aligned where found', () => {
    const parsed = parseRe('metformin ; effect ; AKI\nmetformin;EFFECT;AKI\nnonsense', NOTE, ['EFFECT', 'ADVISE']);
    expect(parsed.value.relations).toHaveLength(1);
    expect(parsed.value.relations[0]?.head.start).toBe(at('metformin'));
    expect(parsed.problems).toEqual(['nonsense']);
  });

  it('RE with a given pair frames the pair and parses a label', () => {
    const config: TaskConfig<'re'> = { type: 're', labels: ['CPR:3', 'CPR:4', 'false'] };
    const input = { text: '<< EGFR >> inhibitors such as [[ gefitinib ]]', pair: { head: 'EGFR', tail: 'gefitinib' } };
    const framed = frameExample(config, input, { relations: [], label: 'CPR:4' });
    expect(framed.prompt).toContain('between "EGFR" and "gefitinib"');
    expect(framed.prompt).not.toContain('one per line');
    expect(framed.target).toBe(' CPR:4');
    expect(parseOutput(config, 'cpr:4', input).value).toBe('CPR:4');
  });

  it('multiple-choice QA: letters in several spellings, or the option text', () => {
    const options = ['Aspirin', 'Warfarin', 'Heparin', 'Insulin'];
    for (const output of ['B', '(b)', 'Answer: B.', 'The correct answer is B) Warfarin', 'warfarin']) {
      expect(parseOptionAnswer(output, options).value).toBe('B');
    }
    expect(parseOptionAnswer('E', options).ok).toBe(false);
    expect(parseOptionAnswer('b)', options).value).toBe('B');
    expect(parseOptionAnswer('a heparin drip', options).value).toBe(null);
    expect(parseOptionAnswer('Heparin.', options).value).toBe('C');
    const prompt = framePrompt(
      { type: 'qa', labels: [] },
      { question: 'Which is an anticoagulant?', options, kind: 'multiple-choice' },
    );
    expect(prompt).toContain('A. Aspirin\nB. Warfarin');
  });

  it('closed labels: first line, or a single label named in a sentence; two labels is unparseable', () => {
    const labels = ['yes', 'no', 'maybe'];
    expect(parseLabel('Yes', labels).value).toBe('yes');
    expect(parseLabel('Based on the abstract, the answer is no.', labels).value).toBe('no');
    const both = parseLabel('It could be yes or no', labels);
    expect(both).toMatchObject({ ok: false, value: null, problems: ['names more than one label'] });
  });
});

describe('templates', () => {
  it('renders fields and optional sections', () => {
    expect(renderTemplate('{{#context}}C: {{context}}\n{{/context}}Q: {{question}}', { question: 'q?' })).toBe('Q: q?');
    expect(
      renderTemplate('{{#context}}C: {{context}}\n{{/context}}Q: {{question}}', { question: 'q?', context: 'c' }),
    ).toBe('C: c\nQ: q?');
  });

  it('an edited template is used, and a broken one is refused with a UserError that names the problem', () => {
    const custom: TaskConfig<'nli'> = {
      type: 'nli',
      labels: ['Entailment'],
      template: 'P={{premise}} H={{hypothesis}} ->',
    };
    expect(framePrompt(custom, { premise: 'a', hypothesis: 'b' })).toBe('P=a H=b ->');
    const broken: TaskConfig<'nli'> = { type: 'nli', labels: [], template: 'P={{premis}} H={{hypothesis}}' };
    expect(() => framePrompt(broken, { premise: 'a', hypothesis: 'b' })).toThrow(UserError);
    expect(() => framePrompt(broken, { premise: 'a', hypothesis: 'b' })).toThrow(
      /must contain \{\{premise\}\}.*unknown field\(s\) \{\{premis\}\}/,
    );
  });
});
