/**
 * Busy, not broken: while another process holds the store's write lock (as a long import does),
 * readers in this process keep working and writers get the documented LOCKED message (exit 1),
 * never exit 70. Then `store check`: SQLite's integrity and foreign-key checks and the audit
 * verification in one command, passing on a healthy store and failing (exit 1) on a broken reference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openEncryptedDatabase } from '../../../src-main/store/sqlite.js';
import { initStore, storePaths } from '../../../src-main/store/store.js';
import { runCliCaptured, type CliRun } from '../../support/cli.js';
import { makeTempDir } from '../../support/temp.js';
import { startWriter } from './processes.js';

const PASSPHRASE = 'busy store passphrase';
const BO_PASSPHRASE = "bo's own passphrase";
const json = <T>(run: CliRun): T => JSON.parse(run.stdout) as T;
const error = (run: CliRun) => (JSON.parse(run.stderr) as { error: { code: string; message: string } }).error;

describe('a store held by another process, and store check', () => {
  const tmp = makeTempDir('clinprompt-busy-');
  const env = {
    CLINPROMPT_HOME: tmp.dir,
    CLINPROMPT_PASSPHRASE: PASSPHRASE,
    CLINPROMPT_USER: 'admin',
    CLINPROMPT_NEW_PASSPHRASE: BO_PASSPHRASE, // for `users add bo`
  };
  const cli = (...argv: string[]) => runCliCaptured([...argv, '--json'], env);
  let key: Buffer;

  beforeAll(async () => {
    const store = await initStore(tmp.dir, {
      protect: { passphrase: PASSPHRASE, scrypt: { N: 2 ** 14, r: 8, p: 1 } },
      admin: { username: 'admin' },
    });
    key = store.exportKey();
    store.close();
  });
  afterAll(() => tmp.cleanup());

  it('reads while another process writes, and answers LOCKED (exit 1) to a write', async () => {
    const writer = startWriter(['hold', tmp.dir, '25000'], key);
    await writer.waitForLines(/^holding$/, 1);
    try {
      const status = await cli('store', 'status');
      expect(status.stderr).toBe('');
      expect(json<{ counts: { notes: number } }>(status).counts.notes).toBe(0); // the held note is not committed
      expect((await cli('datasets', 'list')).code).toBe(0);
      expect((await cli('audit', 'list')).code).toBe(0);

      const add = await cli('users', 'add', 'bo', '--role', 'clinician'); // waits the busy timeout (10 s)
      expect(add.code).toBe(1);
      expect(error(add)).toEqual({
        code: 'LOCKED',
        message: expect.stringMatching(
          /^The store is busy: another ClinPrompt process .* is writing to it\. Nothing was changed; retry when it finishes\.$/,
        ),
      });
    } finally {
      writer.child.kill();
    }
    await writer.exited;
    expect((await cli('users', 'add', 'bo', '--role', 'clinician')).code).toBe(0);
  }, 60_000);

  it('store check passes on a healthy store and fails, naming the table, on a broken reference', async () => {
    const healthy = await cli('store', 'check');
    expect(healthy.code).toBe(0);
    expect(json(healthy)).toMatchObject({ ok: true, integrity: ['ok'], foreignKeyViolations: {}, audit: { ok: true } });
    expect(
      (
        await runCliCaptured(['store', 'check'], {
          ...env,
          CLINPROMPT_USER: 'bo',
          CLINPROMPT_PASSPHRASE: BO_PASSPHRASE,
        })
      ).stderr,
    ).toMatch(/may not check the store \(needs store.admin\)/);

    // someone with the key writes an annotation of a note that does not exist, around the foreign keys
    const db = openEncryptedDatabase(storePaths(tmp.dir).dbFile, key, { create: false });
    db.pragma('foreign_keys = OFF');
    db.prepare(
      `INSERT INTO annotations (note_id, task_type, label, created_at, created_by) VALUES (424242, 'ner', 'X', 'now', 'x')`,
    ).run();
    db.close();
    const broken = await cli('store', 'check');
    expect(broken.code).toBe(1);
    expect(json(broken)).toMatchObject({ ok: false, integrity: ['ok'], foreignKeyViolations: { annotations: 1 } });
    const text = await runCliCaptured(['store', 'check'], env);
    expect(text.stdout).toMatch(/^STORE CHECK FAILED\.\n.*\nforeign keys: broken references: 1 in annotations/);
  }, 60_000);
});
