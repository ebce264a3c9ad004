/**
 * Streaming import end to end into real encrypted stores: memory does not grow with the file
 * (each size measured in its own process, bench/import-measure.ts), and a large stream that
 * fails near its end or is cancelled half-way leaves nothing behind.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { syntheticRow, writeSyntheticJsonl } from '../../../bench/import-data.js';
import { CancelledError } from '../../../src-main/common/errors.js';
import { importDatasetFiles } from '../../../src-main/services/datasets.js';
import { initStore, type Store } from '../../../src-main/store/store.js';
import { REPO_ROOT } from '../../support/paths.js';
import { makeTempDir } from '../../support/temp.js';
import { fifo } from '../../unit/data/helpers.js';
import { FAST_SCRYPT } from '../../unit/store/helpers.js';

const temp = makeTempDir('clinprompt-import-memory-');
afterAll(() => temp.cleanup());

interface Measured {
  examples: number;
  gcExposed: boolean;
  peakGrowthMiB: { heapUsed: number; arrayBuffers: number; rss: number };
}

async function measure(rows: number): Promise<Measured> {
  const dir = path.join(temp.dir, `m${rows}`);
  mkdirSync(dir);
  const file = path.join(dir, 'notes.jsonl');
  await writeSyntheticJsonl(file, rows);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', 'bench/import-measure.ts', 'stream', 'jsonl', file, 'nli', dir],
    { cwd: REPO_ROOT, maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Measured;
}

async function newStore(name: string): Promise<Store> {
  return initStore(path.join(temp.dir, name), {
    protect: { passphrase: 'import memory test', scrypt: FAST_SCRYPT },
    admin: { username: 'admin' },
  });
}

/** A named pipe fed `rows` synthetic rows (then `tail`): the source is never a file on disk. */
function piped(name: string, rows: number, tail = '', onRow?: (i: number) => void): string {
  const pipe = path.join(temp.dir, name);
  const writer = fifo(pipe);
  writer.on('error', () => undefined); // the reader may stop early (cancellation)
  void (async () => {
    for (let i = 0; i < rows && !writer.destroyed; i++) {
      onRow?.(i);
      if (!writer.write(syntheticRow(i))) await once(writer, 'drain').catch(() => undefined);
    }
    writer.end(tail);
  })();
  return pipe;
}

function nothingImported(store: Store): void {
  expect(store.datasets.list()).toEqual([]);
  expect(store.status().counts.examples).toBe(0);
  expect(store.audit.recent(20).map((e) => e.action)).not.toContain('datasets.import');
  expect(store.audit.verify()).toMatchObject({ ok: true });
}

describe('streaming import into the encrypted store', () => {
  it('keeps the live heap flat: 4x the data needs about the same heap as 1x', { timeout: 300_000 }, async () => {
    const small = await measure(50_000); // ~18 MB of JSONL
    const large = await measure(200_000); // ~74 MB
    expect(small.examples).toBe(50_000);
    expect(large.examples).toBe(200_000);
    // with --expose-gc each sample is live memory; without it garbage counts too, hence the wider bound
    const bound = large.gcExposed ? 24 : 96;
    expect(small.peakGrowthMiB.heapUsed).toBeLessThan(bound);
    expect(large.peakGrowthMiB.heapUsed).toBeLessThan(bound);
    expect(large.peakGrowthMiB.heapUsed - small.peakGrowthMiB.heapUsed).toBeLessThan(large.gcExposed ? 8 : 48);
    // what does grow: the digest tables (3 x 12 bytes a slot, at most 70% full), ~74 MB of text would be far more
    expect(large.peakGrowthMiB.arrayBuffers).toBeLessThan(24);
  });

  it('leaves nothing when an example near the end of a large stream is malformed', { timeout: 180_000 }, async () => {
    const store = await newStore('bad-end');
    const rows = 120_000;
    const source = piped('bad-end.jsonl', rows, '{"id": "last", "premise": "cut off');
    await expect(
      importDatasetFiles(store, store.session('admin'), { format: 'jsonl', path: source, task: 'nli', name: 'big' }),
    ).rejects.toThrow(new RegExp(`bad-end\\.jsonl, line ${rows + 1}: .*nothing was imported`));
    nothingImported(store);
    store.close();
  });

  it('rolls back a cancelled import and leaves the store writable', { timeout: 180_000 }, async () => {
    const store = await newStore('cancelled');
    const controller = new AbortController();
    const source = piped('cancelled.jsonl', 200_000, '', (i) => {
      if (i === 60_000) controller.abort();
    });
    const session = store.session('admin');
    await expect(
      importDatasetFiles(store, session, {
        format: 'jsonl',
        path: source,
        task: 'nli',
        name: 'big',
        signal: controller.signal,
      }),
    ).rejects.toBeInstanceOf(CancelledError);
    nothingImported(store);
    session.record('datasets.import', 'after-cancel');
    expect(store.audit.recent(1)[0]?.action).toBe('after-cancel');
    store.close();
  });
});
