/**
 * Durability and concurrency with real processes on a real encrypted file:
 * - a writer killed with SIGKILL in the middle of a large import loses no committed dataset, leaves
 *   no partial one, and the database passes integrity_check;
 * - a reader (the UI) and a writer in another process (a training worker) work at the same time
 *   in WAL mode, the reader always seeing consistent, growing data.
 */
import { existsSync } from 'node:fs';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { integrityCheck } from '../../../src-main/store/sqlite.js';
import { initStore, openConnection, openStore, type Store } from '../../../src-main/store/store.js';
import { makeTempDir } from '../../support/temp.js';
import { startWriter } from './processes.js';

const PASSPHRASE = 'crash test passphrase';
const FAST_SCRYPT = { N: 2 ** 14, r: 8, p: 1 };

describe('store under crashes and concurrent processes', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let store: Store;
  beforeEach(async () => {
    tmp = makeTempDir('clinprompt-crash-');
    store = await initStore(tmp.dir, {
      protect: { passphrase: PASSPHRASE, scrypt: FAST_SCRYPT },
      admin: { username: 'admin' },
    });
  });
  afterEach(() => {
    store.close();
    tmp.cleanup();
  });

  it('kill -9 during a large import loses no committed data and leaves the database consistent', async () => {
    const key = store.exportKey();
    store.close();
    const writer = startWriter(['import', tmp.dir, '3000'], key);
    const committed = await writer.waitForLines(/^committed /, 3);
    // kill once the writer is halfway through the fourth import's transaction
    await writer.waitForLines(/^inside crash-3$/, 1);
    writer.child.kill('SIGKILL');
    expect(existsSync(`${store.paths.dbFile}-wal`)).toBe(true);
    expect((await writer.exited).signal).toBe('SIGKILL');
    const reported = committed.map((l) => l.split(' ')[1]);

    store = await openStore(tmp.dir, { user: 'admin', passphrase: PASSPHRASE });
    expect(integrityCheck(store.db)).toEqual(['ok']);
    const datasets = store.datasets.list();
    const names = datasets.map((d) => d.name);
    for (const name of reported) expect(names).toContain(name);
    // every dataset present is complete (all-or-nothing)
    for (const d of datasets) expect(d.counts.total, d.name).toBe(3000);
    expect(names).toEqual(['crash-0', 'crash-1', 'crash-2']); // crash-3 was mid-transaction: rolled back
    const orphans = store.db
      .prepare('SELECT count(*) FROM examples WHERE dataset_id NOT IN (SELECT id FROM datasets)')
      .pluck()
      .get();
    expect(orphans).toBe(0);
    expect(store.db.pragma('foreign_key_check')).toEqual([]);
  });

  it('a reader keeps reading while another process writes (WAL), and sees every committed step', async () => {
    const steps = 300;
    const writer = startWriter(['metrics', tmp.dir, String(steps)], store.exportKey());
    const reader = openConnection(store.paths, store.exportKey(), true);
    let reads = 0;
    let readsMidway = 0; // reads that saw some but not all steps: truly concurrent with the writer
    let lastSeen = 0;
    try {
      while (writer.child.exitCode === null) {
        // one consistent snapshot per statement: never a half-written step
        const row = reader
          .prepare(`SELECT count(*) AS n, max(step) AS top FROM run_metrics WHERE name = 'loss'`)
          .get() as { n: number; top: number | null };
        expect(row.n).toBe(row.top ?? 0);
        expect(row.n).toBeGreaterThanOrEqual(lastSeen);
        lastSeen = row.n;
        reads += 1;
        if (row.n > 0 && row.n < steps) readsMidway += 1;
        // the UI process also writes now and then (audit entries), waiting on the writer's lock
        if (reads % 50 === 0)
          store.audit.append({ username: 'admin', role: 'informatics-admin', action: 'ui.refresh' });
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      reader.close();
    }
    const exit = await writer.exited;
    expect(exit.code).toBe(0);
    expect(writer.lines).toContain('done');
    expect(readsMidway).toBeGreaterThan(0);
    expect(store.runs.metrics(1, 'loss')).toHaveLength(steps);
    expect(store.runs.get(1).status).toBe('succeeded');
    expect(store.audit.verify().ok).toBe(true);
    expect(integrityCheck(store.db)).toEqual(['ok']);
  });
});
