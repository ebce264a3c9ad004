import { beforeEach, describe, expect, it } from 'vitest';

import { UserError } from '../../../src-main/common/errors.js';
import { DatasetsRepository, type NewExample } from '../../../src-main/store/repositories/datasets.js';
import { useFreshDatabase } from './helpers.js';

const ner = { name: 'i2b2-mini', taskType: 'ner', sourceFormat: 'conll', labelSet: ['PROBLEM', 'TEST'] } as const;

function nerExamples(): NewExample[] {
  return [
    {
      split: 'train',
      externalId: 'd1',
      input: { text: 'chest pain' },
      target: [[0, 10, 'PROBLEM']],
      labels: ['PROBLEM'],
    },
    { split: 'train', externalId: 'd2', input: { text: 'ecg and pain' }, target: [], labels: ['TEST', 'PROBLEM'] },
    { split: 'dev', input: { text: 'troponin' }, target: [[0, 8, 'TEST']], labels: ['TEST'] },
    { split: 'test', input: { text: 'none' }, target: [], labels: [] },
  ];
}

describe('DatasetsRepository', () => {
  const fresh = useFreshDatabase();
  let repo: DatasetsRepository;
  beforeEach(() => (repo = new DatasetsRepository(fresh.db)));

  it('imports a dataset with counts per split and per label, and reads examples back in order', () => {
    const { datasetId, counts } = repo.importDataset({ ...ner, meta: { source: 'unit' } }, nerExamples());
    expect(counts).toEqual({ train: 2, dev: 1, test: 1, total: 4 });
    const summary = repo.get('i2b2-mini');
    expect(summary.id).toBe(datasetId);
    expect(summary.meta).toEqual({ source: 'unit' });
    expect(summary.labelCounts).toEqual({ train: { PROBLEM: 2, TEST: 1 }, dev: { TEST: 1 }, test: {} });
    expect(repo.list().map((d) => d.name)).toEqual(['i2b2-mini']);

    const train = repo.examples(datasetId, { split: 'train' });
    expect(train.map((e) => e.externalId)).toEqual(['d1', 'd2']);
    expect(train[0]?.target).toEqual([[0, 10, 'PROBLEM']]);
    expect(repo.examples(datasetId).map((e) => e.split)).toEqual(['train', 'train', 'dev', 'test']);
    expect(repo.examples(datasetId, { limit: 2, offset: 1 }).map((e) => e.split)).toEqual(['train', 'dev']);
  });

  it('refuses a duplicate name with ALREADY_EXISTS and keeps the first dataset intact', () => {
    repo.importDataset(ner, nerExamples());
    expect(() => repo.importDataset(ner, nerExamples())).toThrow(
      expect.objectContaining({ code: 'ALREADY_EXISTS' }) as UserError,
    );
    expect(repo.list()).toHaveLength(1);
    expect(repo.get(ner.name).counts.total).toBe(4);
  });

  it('is all-or-nothing: a bad example in the middle leaves no dataset and no examples', () => {
    const examples = nerExamples();
    examples.splice(2, 0, { split: 'train', externalId: 'bad', input: {}, target: [], labels: ['DRUG'] });
    expect(() => repo.importDataset(ner, examples)).toThrow(
      /Example 3 \(id bad\): 1 label\(s\) are not in the dataset's label set \(PROBLEM, TEST\)/,
    );
    expect(repo.list()).toEqual([]);
    expect(fresh.db.prepare('SELECT count(*) FROM examples').pluck().get()).toBe(0);
  });

  it('rolls back when the example iterator itself throws (e.g. a parse error in the source file)', () => {
    function* failing(): Generator<NewExample> {
      yield* nerExamples();
      throw new UserError('BAD_FILE', 'line 9 of train.conll: malformed');
    }
    expect(() => repo.importDataset(ner, failing())).toThrow(/line 9/);
    expect(repo.list()).toEqual([]);
  });

  it('deletes a dataset with its examples; unknown ids are NOT_FOUND', () => {
    const { datasetId } = repo.importDataset(ner, nerExamples());
    repo.delete(datasetId);
    expect(repo.list()).toEqual([]);
    expect(fresh.db.prepare('SELECT count(*) FROM examples').pluck().get()).toBe(0);
    expect(() => repo.get(datasetId)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }) as UserError);
    expect(() => repo.examples(999)).toThrow(/No dataset with id 999/);
  });

  it('rejects unknown task types and splits', () => {
    expect(() => repo.importDataset({ ...ner, taskType: 'pos' as never }, [])).toThrow(/Unknown task type "pos"/);
    expect(() => repo.importDataset(ner, [{ ...nerExamples()[0]!, split: 'val' as never }])).toThrow(/unknown split/);
    expect(repo.list()).toEqual([]);
  });
});
