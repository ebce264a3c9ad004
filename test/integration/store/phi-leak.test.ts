/**
 * Nothing sensitive leaks: a planted patient string goes through imports, failures, backups and a
 * large sort, and is then searched for in every log line, every error message that would reach the
 * renderer or the terminal, every file under the data folder, the backup file, and the temp folder.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { serializeError } from '../../../src-main/common/errors.js';
import { log } from '../../../src-main/common/log.js';
import { backupStore } from '../../../src-main/store/backup.js';
import { initStore, type Store } from '../../../src-main/store/store.js';
import { runCliCaptured } from '../../support/cli.js';
import { makeTempDir } from '../../support/temp.js';
import { startWriter } from './processes.js';

const PHI_NAME = 'Zebulon Quixotic-Marchetti';
const PHI_MRN = '99417723';
const PLANTED = `Patient ${PHI_NAME}, MRN ${PHI_MRN}, seen for chest pain`;
const NEEDLES = [PHI_NAME, PHI_MRN, 'Quixotic'];
const PASSPHRASE = 'leak test passphrase';

function leaks(text: string): string[] {
  return NEEDLES.filter((n) => text.includes(n));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((rel) => path.join(dir, rel))
    .filter((file) => statSync(file).isFile());
}

describe('no PHI outside the encrypted store', () => {
  const tmp = makeTempDir('clinprompt-phi-');
  const home = path.join(tmp.dir, 'home');
  const logLines: string[] = [];
  const errors: string[] = [];
  let store: Store;
  let restoreSink: (line: string) => void;

  beforeAll(async () => {
    restoreSink = log.setSink((line) => logLines.push(line));
    log.setLevel('debug');
    store = await initStore(home, {
      protect: { passphrase: PASSPHRASE, scrypt: { N: 2 ** 14, r: 8, p: 1 } },
      admin: { username: 'admin' },
    });
  });
  afterAll(() => {
    store.close();
    log.setSink(restoreSink);
    log.setLevel('warn');
    tmp.cleanup();
  });

  /** Runs `fn`, which must fail; keeps what a user or the renderer would see of the failure. */
  function failing(fn: () => unknown): void {
    let thrown: unknown;
    try {
      fn();
    } catch (error) {
      thrown = error;
    }
    expect(thrown, 'expected a failure').toBeDefined();
    errors.push(serializeError(thrown).message);
    log.error('operation-failed', { error: thrown });
  }

  it('keeps note text out of error messages and logs on every failure path', () => {
    const admin = store.session('admin');
    const [noteId] = admin.perform(
      'notes.import',
      'notes.import',
      () => store.notes.importNotes('ward', [{ externalId: 'n1', text: PLANTED }], 'admin'),
      (ids) => ({ objectType: 'note', objectIds: ids, details: { count: ids.length } }),
    );
    failing(() => store.notes.importNotes('ward', [{ externalId: 'n1', text: PLANTED }], 'admin')); // duplicate
    failing(() =>
      store.annotations.add({ noteId: noteId ?? 0, taskType: 'ner', label: 'PROBLEM', start: 5, end: 5000 }, 'admin'),
    );
    failing(() =>
      store.datasets.importDataset({ name: 'x', taskType: 'ner', sourceFormat: 'conll', labelSet: ['PROBLEM'] }, [
        { split: 'train', input: { text: PLANTED }, target: [], labels: [PHI_NAME] },
      ]),
    );
    failing(() =>
      store.datasets.importDataset({ name: 'y', taskType: 'qa', sourceFormat: 'jsonl', labelSet: [] }, [
        { split: 'train', input: { text: PLANTED, n: BigInt(1) }, target: null, labels: [] },
      ]),
    );
    failing(() =>
      store.db
        .prepare(`INSERT INTO notes (collection, text, imported_at, imported_by) VALUES (?, ?, NULL, 'a')`)
        .run('w', PLANTED),
    );
    failing(() => store.session('ana'));

    expect(errors).toHaveLength(6);
    for (const message of errors) expect(leaks(message), message).toEqual([]);
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) expect(leaks(line), line).toEqual([]);
    for (const entry of store.audit.recent(100)) expect(leaks(JSON.stringify(entry))).toEqual([]);
  });

  it('keeps it out of the data folder and the backup file', async () => {
    store.blobs.put('checkpoint', Buffer.from(PLANTED.repeat(20_000))); // a file blob
    const backup = path.join(tmp.dir, 'backup.cpbak');
    await backupStore(store, store.session('admin'), backup, 'backup passphrase for leaks', { N: 2 ** 14, r: 8, p: 1 });
    const files = [...filesUnder(home), backup];
    expect(files.some((f) => f.endsWith('.blob'))).toBe(true);
    expect(files.some((f) => f.endsWith('-wal'))).toBe(true); // checked while open, with fresh pages in the WAL
    for (const file of files) expect(leaks(readFileSync(file).toString('latin1')), file).toEqual([]);
  });

  it('keeps it out of what the CLI prints about the store', async () => {
    const env = { CLINPROMPT_HOME: home, CLINPROMPT_PASSPHRASE: PASSPHRASE, CLINPROMPT_USER: 'admin' };
    const runs = [
      await runCliCaptured(['store', 'status', '--json'], env),
      await runCliCaptured(['audit', 'list', '--limit', '100'], env),
      await runCliCaptured(['audit', 'verify'], env),
      await runCliCaptured(['users', 'list'], { ...env, CLINPROMPT_USER: 'nobody' }),
    ];
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 1]);
    for (const run of runs) expect(leaks(run.stdout + run.stderr)).toEqual([]);
  });

  it.skipIf(!existsSync('/proc/self/fd'))(
    'sorts large note sets without temp files (temp_store=MEMORY), while the control spills to TMPDIR',
    async () => {
      const privateTmp = makeTempDir('clinprompt-phi-tmpdir-');
      try {
        const previousTmp = process.env['TMPDIR'];
        process.env['TMPDIR'] = privateTmp.dir; // inherited by the child; SQLite reads it at startup
        const writer = startWriter(['temp-files', home, '8000'], store.exportKey());
        if (previousTmp === undefined) delete process.env['TMPDIR'];
        else process.env['TMPDIR'] = previousTmp;
        const [line] = await writer.waitForLines(/^\{/, 1, 110_000);
        expect((await writer.exited).code).toBe(0);
        const { memory, file } = JSON.parse(line ?? '{}') as { memory: number; file: number };
        expect(file, 'control: with temp_store=FILE the same sort spills to TMPDIR').toBeGreaterThan(0);
        expect(memory, 'as configured: no temp file').toBe(0);
        for (const f of filesUnder(privateTmp.dir)) expect(leaks(readFileSync(f).toString('latin1')), f).toEqual([]);
      } finally {
        privateTmp.cleanup();
      }
    },
  );
});
