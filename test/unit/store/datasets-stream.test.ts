import { describe, expect, it } from 'vitest';

import { CancelledError, type UserError } from '../../../src-main/common/errors.js';
import { assertWritable, asyncTransaction } from '../../../src-main/store/async-transaction.js';
import { AuditLog } from '../../../src-main/store/audit.js';
import {
  DatasetsRepository,
  type NewExample,
  type StreamedExample,
} from '../../../src-main/store/repositories/datasets.js';
import { UsersRepository } from '../../../src-main/store/repositories/users.js';
import { StoreSession } from '../../../src-main/store/session.js';
import { useFreshDatabase } from './helpers.js';

const code = (c: string) => expect.objectContaining({ code: c }) as UserError;

const example = (i: number, split: NewExample['split'] = 'train', label = i % 2 ? 'A' : 'B'): NewExample => ({
  split,
  externalId: `e${i}`,
  input: { text: `note ${i}` },
  target: { label },
  labels: [label],
});

/** Examples arriving one by one across event-loop turns, as from a file being parsed. */
async function* arriving(
  items: Iterable<StreamedExample>,
  onEach?: (n: number) => void,
): AsyncGenerator<StreamedExample> {
  let n = 0;
  for (const item of items) {
    await new Promise((resolve) => setImmediate(resolve));
    onEach?.(++n);
    yield item;
  }
}

const count = (db: ReturnType<typeof useFreshDatabase>['db'], table: string) =>
  db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;

describe('streamed dataset import', () => {
  const fresh = useFreshDatabase();
  const meta = { name: 'streamed', taskType: 'nli' as const, sourceFormat: 'jsonl', labelSet: [] };

  it('writes examples as they arrive and finishes the dataset with a label set and metadata known at the end', async () => {
    const repo = new DatasetsRepository(fresh.db);
    const examples = [...Array.from({ length: 30 }, (_, i) => example(i)), example(30, 'test', 'A')];
    const result = await repo.importDatasetStream(meta, arriving(examples), {
      finish: (inserted) => {
        expect([...inserted.scan('test')]).toEqual([{ position: 0, externalId: 'e30', input: { text: 'note 30' } }]);
        return { labelSet: ['A', 'B'], meta: { report: { read: inserted.counts.total } } };
      },
    });
    expect(result.counts).toEqual({ train: 30, dev: 0, test: 1, total: 31 });
    expect(result.labelCounts).toEqual({ train: { A: 15, B: 15 }, dev: {}, test: { A: 1 } });
    const summary = repo.get('streamed');
    expect(summary).toMatchObject({ labelSet: ['A', 'B'], meta: { report: { read: 31 } }, counts: result.counts });
    expect(summary.labelCounts).toEqual(result.labelCounts);
    expect(repo.examples(summary.id, { split: 'train' }).map((e) => e.position)).toEqual([...Array(30).keys()]);
  });

  it('leaves nothing behind when the last example is malformed or a label is missing from the final set', async () => {
    const repo = new DatasetsRepository(fresh.db);
    const bad = [...Array.from({ length: 2000 }, (_, i) => example(i)), { ...example(2000), split: 'val' as never }];
    await expect(repo.importDatasetStream(meta, arriving(bad))).rejects.toThrow(
      /Example 2001 \(id e2000\): unknown split/,
    );
    await expect(
      repo.importDatasetStream(meta, arriving([example(1), example(2)]), {
        finish: () => ({ labelSet: ['A'], meta: {} }),
      }),
    ).rejects.toThrow(/1 label\(s\) of the examples are not in the dataset's label set/);
    expect(repo.list()).toEqual([]);
    expect(count(fresh.db, 'examples')).toBe(0);
    expect(fresh.db.inTransaction).toBe(false);
  });

  it('rolls back when cancelled mid-stream', async () => {
    const repo = new DatasetsRepository(fresh.db);
    const controller = new AbortController();
    const examples = Array.from({ length: 5000 }, (_, i) => example(i));
    let written = 0;
    const run = repo.importDatasetStream(
      meta,
      arriving(examples, (n) => {
        if (n === 3000) controller.abort();
      }),
      { signal: controller.signal, progressEvery: 500, onProgress: (n) => (written = n) },
    );
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(written).toBeGreaterThanOrEqual(2500); // it was well under way
    expect(repo.list()).toEqual([]);
    expect(count(fresh.db, 'examples')).toBe(0);
  });

  it('drops what a stream wrote when it restarts, in the same transaction', async () => {
    const repo = new DatasetsRepository(fresh.db);
    const stream: StreamedExample[] = [example(1), example(2), { restart: true }, example(3, 'dev')];
    const { datasetId, counts } = await repo.importDatasetStream(meta, arriving(stream));
    expect(counts).toEqual({ train: 0, dev: 1, test: 0, total: 1 });
    expect(repo.examples(datasetId).map((e) => e.externalId)).toEqual(['e3']);
  });

  it('refuses other writers on the connection while it is open, and audits inside the same transaction', async () => {
    const db = fresh.db;
    const user = new UsersRepository(db).add('ana', 'informatics-admin');
    const session = new StoreSession(user, () => db);
    let sawLocked = false;
    // the stream stops half-way until the test has looked at the store from outside the import
    let reached!: () => void;
    let release!: () => void;
    const halfway = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    async function* held(): AsyncGenerator<NewExample> {
      for (let i = 0; i < 50; i++) {
        if (i === 25) {
          // the same writer's context may write
          expect(() => session.record('datasets.import', 'datasets.export')).not.toThrow();
          reached();
          await released;
        }
        yield example(i);
      }
    }
    const importing = session.performAsync(
      'datasets.import',
      'datasets.import',
      (tx) => new DatasetsRepository(tx).importDatasetStream(meta, held()),
      (r) => ({ objectType: 'dataset', objectIds: [r.datasetId] }),
    );
    await halfway;
    try {
      session.record('datasets.import', 'other.action');
    } catch (error) {
      expect(error).toEqual(code('LOCKED'));
      sawLocked = true;
    }
    expect(() => assertWritable(db)).toThrow(/A dataset import is writing to the store/);
    // readers outside the import do not see the dataset before it commits
    expect(new DatasetsRepository(db).list()).toEqual([]);
    expect(() => new DatasetsRepository(db).get('streamed')).toThrow(/No dataset named "streamed"/);
    await expect(asyncTransaction(db, async () => undefined)).rejects.toEqual(code('LOCKED'));
    release();
    await importing;
    expect(sawLocked).toBe(true);
    expect(new DatasetsRepository(db).get('streamed').counts.total).toBe(50);
    expect(() => assertWritable(db)).not.toThrow();
    const actions = new AuditLog(db).recent(5).map((e) => e.action);
    expect(actions).toContain('datasets.import');
    expect(actions).not.toContain('other.action');
    expect(new AuditLog(db).verify()).toMatchObject({ ok: true });
  });

  it('rolls back the audit entry with the dataset when the import fails', async () => {
    const db = fresh.db;
    const user = new UsersRepository(db).add('ana', 'informatics-admin');
    const session = new StoreSession(user, () => db);
    const before = count(db, 'audit_log');
    const bad = [example(1), { ...example(2), labels: [7] as never }];
    await expect(
      session.performAsync('datasets.import', 'datasets.import', (tx) =>
        new DatasetsRepository(tx).importDatasetStream(meta, arriving(bad)),
      ),
    ).rejects.toThrow(/labels must be a list of strings/);
    expect(count(db, 'audit_log')).toBe(before);
    expect(count(db, 'datasets')).toBe(0);
    session.record('datasets.import', 'after'); // the connection is usable again
    expect(count(db, 'audit_log')).toBe(before + 1);
  });

  it('reads examples back page by page in import order, leaving the connection free between pages', () => {
    const repo = new DatasetsRepository(fresh.db);
    const splits = ['train', 'dev', 'test'] as const;
    const { datasetId } = repo.importDataset(
      meta,
      Array.from({ length: 734 }, (_, i) => example(i, splits[i % 3])),
    );
    const paged = [];
    for (const e of repo.iterateExamples(datasetId, { pageSize: 100 })) {
      // another query on the connection while the export is under way (iterate() would hold it busy)
      if (paged.push(e) % 150 === 1) expect(fresh.db.prepare('SELECT count(*) FROM datasets').pluck().get()).toBe(1);
    }
    expect(paged).toEqual(repo.examples(datasetId));
    expect([...repo.iterateExamples(datasetId, { split: 'dev', pageSize: 7 })]).toEqual(
      repo.examples(datasetId, { split: 'dev' }),
    );
  });
});
