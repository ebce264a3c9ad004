import { describe, expect, it } from 'vitest';

import { TASK_TYPES } from '../../../src-main/common/vocabulary.js';
import { scanText, scanValue } from '../../../src-main/packs/phi-scan.js';
import { taskDefinition } from '../../../src-main/tasks/registry.js';

const kinds = (text: string) => scanText('t', text).map((f) => f.kind);

describe('PHI scan', () => {
  it.each([
    ['name', 'Seen by Dr. Alvarez today'],
    ['name', 'Patient: Jones'],
    ['name', 'Notes about Mary Whitfield'],
    ['date', 'admitted 03/14/2024'],
    ['date', 'on 2024-03-14'],
    ['date', 'since March 3, 2021'],
    ['date', 'on 3 Mar 2021'],
    ['record-number', 'MRN: 00482913'],
    ['record-number', 'SSN 123-45-6789'],
    ['record-number', 'ref 4829137'],
    ['phone', 'call (617) 555-0134'],
    ['phone', 'call 617-555-0134'],
    ['email', 'write to j.doe@hospital.org'],
    ['address', 'lives at 12 Harbor View Road'],
    ['age-over-89', 'a 93-year-old woman'],
    ['age-over-89', 'a 91 yo man'],
    ['age-over-89', 'aged 102'],
  ] as const)('finds %s in "%s"', (kind, text) => {
    expect(kinds(text)).toContain(kind);
  });

  it.each([
    'Premise: {{premise}}\nHypothesis: {{hypothesis}}\nAnswer:',
    'nli-entailment-v2',
    'mednli',
    'a 45-year-old',
    'aged 89',
    'q_proj',
    'Answer with entailment, neutral or contradiction.',
  ])('finds nothing in "%s"', (text) => {
    expect(kinds(text)).toEqual([]);
  });

  it("finds nothing in any task type's default template", () => {
    for (const type of TASK_TYPES) expect(kinds(taskDefinition(type).defaultTemplate), type).toEqual([]);
  });

  it('names the field and offset, never the text, and scans keys too', () => {
    const findings = scanValue('tasks', [{ labels: ['yes', 'call 617-555-0134'] }, { 'Dr. House': 1 }]);
    expect(findings).toEqual([
      { field: 'tasks[0].labels[1]', kind: 'phone', offset: 5 },
      { field: 'tasks[1] (key)', kind: 'name', offset: 0 },
    ]);
  });
});
