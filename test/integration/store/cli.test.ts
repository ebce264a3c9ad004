/**
 * The store's CLI commands, in-process through runCli with captured output, against real encrypted
 * files in a temporary CLINPROMPT_HOME. Each unlock derives the key with the default scrypt cost
 * (~1 s here), so the steps share one store and run in order.
 */
import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCliCaptured, type CliRun } from '../../support/cli.js';
import { makeTempDir } from '../../support/temp.js';
import { openEncryptedDatabase } from '../../../src-main/store/sqlite.js';
import { openStore, storePaths } from '../../../src-main/store/store.js';

const PASSPHRASE = 'ward seven night shift';
const NEW_PASSPHRASE = 'a rotated passphrase for the store';
const BACKUP_PASSPHRASE = 'the offsite backup passphrase';

const json = <T>(run: CliRun): T => JSON.parse(run.stdout) as T;

describe('clinprompt store / users / audit', () => {
  const tmp = makeTempDir('clinprompt-cli-store-');
  const home = `${tmp.dir}/home`;
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    CLINPROMPT_HOME: home,
    CLINPROMPT_PASSPHRASE: PASSPHRASE,
    CLINPROMPT_USER: 'admin',
    ...extra,
  });

  beforeAll(async () => {
    const init = await runCliCaptured(['store', 'init', '--json'], env());
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
  });
  afterAll(() => tmp.cleanup());

  it('prints --help for every command', async () => {
    for (const argv of [
      ['store', '--help'],
      ['store', 'init', '--help'],
      ['store', 'status', '--help'],
      ['store', 'rekey', '--help'],
      ['store', 'backup', '--help'],
      ['store', 'restore', '--help'],
      ['audit', 'verify', '--help'],
      ['users', 'add', '--help'],
      ['users', 'list', '--help'],
      ['users', 'role', '--help'],
      ['users', 'disable', '--help'],
      ['audit', 'list', '--help'],
    ]) {
      const run = await runCliCaptured(argv, {});
      expect(run.code, argv.join(' ')).toBe(0);
      expect(run.stdout).toMatch(/^Usage: clinprompt /);
    }
    expect((await runCliCaptured(['users', 'add', '--help'])).stdout).toMatch(/informatics-admin: everything/);
  });

  it('explains what init needs instead of creating an unprotected store', async () => {
    const other = { CLINPROMPT_HOME: `${tmp.dir}/other`, CLINPROMPT_USER: 'admin' };
    const noSecret = await runCliCaptured(['store', 'init'], other);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/New store passphrase is needed. Set CLINPROMPT_PASSPHRASE/);
    const nothing = await runCliCaptured(['store', 'init', '--no-passphrase'], other);
    expect(nothing.stderr).toMatch(/--no-passphrase needs --keychain/);
    const short = await runCliCaptured(['store', 'init'], { ...other, CLINPROMPT_PASSPHRASE: 'short' });
    expect(short.stderr).toMatch(/at least 12 characters/);
    expect((await runCliCaptured(['store', 'status'], other)).stderr).toMatch(
      /No keyring at .*Run `clinprompt store init`/,
    );
  });

  it('refuses a second init and reports status as JSON', async () => {
    const again = await runCliCaptured(['store', 'init'], env());
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists.*left untouched/);
    const status = json<{ protections: string[]; counts: { users: number }; journalMode: string }>(
      await runCliCaptured(['store', 'status', '--json'], env()),
    );
    expect(status).toMatchObject({ protections: ['passphrase'], journalMode: 'wal', counts: { users: 1 } });
  });

  it('fails cleanly without a passphrase and with a wrong one, leaving the files unchanged', async () => {
    const { dbFile, keyringFile } = storePaths(home);
    const before = [readFileSync(dbFile), readFileSync(keyringFile)];
    const none = await runCliCaptured(['store', 'status'], env({ CLINPROMPT_PASSPHRASE: '' }));
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/Set CLINPROMPT_PASSPHRASE/);
    const wrong = await runCliCaptured(
      ['store', 'status', '--json'],
      env({ CLINPROMPT_PASSPHRASE: 'not the right one' }),
    );
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.stderr)).toEqual({
      error: { code: 'WRONG_KEY', message: expect.stringMatching(/Wrong passphrase/) },
    });
    expect([readFileSync(dbFile), readFileSync(keyringFile)]).toEqual(before);
  });

  it('manages users by role, refuses non-admins, and audits both', async () => {
    expect((await runCliCaptured(['users', 'add', 'ana', '--role', 'clinician', '--name', 'Dr Ana'], env())).code).toBe(
      0,
    );
    const role = await runCliCaptured(['users', 'role', 'ana', 'data-scientist', '--json'], env());
    expect(json<{ role: string }>(role).role).toBe('data-scientist');
    const list = json<{ username: string; role: string }[]>(await runCliCaptured(['users', 'list', '--json'], env()));
    expect(list.map((u) => `${u.username}:${u.role}`)).toEqual(['admin:informatics-admin', 'ana:data-scientist']);

    const denied = await runCliCaptured(
      ['users', 'add', 'eve', '--role', 'informatics-admin'],
      env({ CLINPROMPT_USER: 'ana' }),
    );
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/"ana" \(role data-scientist\) may not users.add/);
    expect((await runCliCaptured(['users', 'disable', 'ana'], env())).stdout).toMatch(/ana is now disabled/);
    const disabled = await runCliCaptured(['audit', 'verify'], env({ CLINPROMPT_USER: 'ana' }));
    expect(disabled.stderr).toMatch(/User "ana" is disabled/);
    expect((await runCliCaptured(['users', 'enable', 'ana'], env())).code).toBe(0);
    const stranger = await runCliCaptured(['users', 'list'], env({ CLINPROMPT_USER: 'mallory' }));
    expect(stranger.stderr).toMatch(/"mallory" is not a user of this store/);
    const badRole = await runCliCaptured(['users', 'add', 'bo', '--role', 'surgeon'], env());
    expect(badRole.code).toBe(2);

    const verify = await runCliCaptured(['audit', 'verify', '--json'], env());
    expect(verify.code).toBe(0);
    expect(json<{ ok: boolean; entries: number }>(verify)).toMatchObject({ ok: true });
    const actions = json<{ action: string; username: string }[]>(
      await runCliCaptured(['audit', 'list', '--json', '--limit', '50'], env()),
    );
    expect(actions.map((a) => `${a.username}:${a.action}`)).toEqual(
      expect.arrayContaining([
        'admin:store.init',
        'admin:users.add',
        'admin:users.role',
        'ana:permission.denied',
        'mallory:session.refused',
      ]),
    );
  });

  it('audit verify exits 1 and names the entry when the log was tampered with', async () => {
    // an attacker holding the key: open the file directly, drop the trigger, rewrite entry 2
    const store = await openStore(home, { passphrase: PASSPHRASE });
    const db = openEncryptedDatabase(storePaths(home).dbFile, store.exportKey(), { create: false });
    store.close();
    db.exec('DROP TRIGGER audit_log_no_update');
    db.prepare(`UPDATE audit_log SET username = 'nobody' WHERE seq = 2`).run();
    db.exec(
      `CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`,
    );
    db.close();
    const verify = await runCliCaptured(['audit', 'verify'], env());
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/AUDIT LOG TAMPERED: entry 2 was altered/);
  });

  it('backs up, refuses a wrong backup passphrase, and restores into a new home', async () => {
    const file = `${tmp.dir}/store.cpbak`;
    const backup = await runCliCaptured(
      ['store', 'backup', file, '--json'],
      env({ CLINPROMPT_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE }),
    );
    expect(backup.code).toBe(0);
    expect(json<{ file: string }>(backup).file).toBe(file);
    const home2 = `${tmp.dir}/home2`;
    const wrong = await runCliCaptured(
      ['store', 'restore', file],
      env({ CLINPROMPT_HOME: home2, CLINPROMPT_BACKUP_PASSPHRASE: 'wrong backup passphrase' }),
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/Wrong passphrase for the backup/);
    const restore = await runCliCaptured(
      ['store', 'restore', file, '--json'],
      env({ CLINPROMPT_HOME: home2, CLINPROMPT_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE }),
    );
    expect(restore.code).toBe(0);
    const users = json<{ username: string }[]>(
      await runCliCaptured(['users', 'list', '--json'], env({ CLINPROMPT_HOME: home2 })),
    );
    expect(users.map((u) => u.username)).toEqual(['admin', 'ana']);
  });

  it('rotates the data key with a new passphrase; only the new one opens the store', async () => {
    const before = json<{ keyFingerprint: string }>(await runCliCaptured(['store', 'status', '--json'], env()));
    const rekey = await runCliCaptured(
      ['store', 'rekey', '--json'],
      env({ CLINPROMPT_NEW_PASSPHRASE: NEW_PASSPHRASE }),
    );
    expect(rekey.stderr).toBe('');
    const result = json<{ rotated: boolean; keyFingerprint: string }>(rekey);
    expect(result.rotated).toBe(true);
    expect(result.keyFingerprint).not.toBe(before.keyFingerprint);
    expect((await runCliCaptured(['store', 'status'], env())).code).toBe(1);
    const after = await runCliCaptured(['store', 'status', '--json'], env({ CLINPROMPT_PASSPHRASE: NEW_PASSPHRASE }));
    expect(json<{ counts: { users: number } }>(after).counts.users).toBe(2);
    const ana = await runCliCaptured(
      ['store', 'rekey'],
      env({ CLINPROMPT_PASSPHRASE: NEW_PASSPHRASE, CLINPROMPT_USER: 'ana' }),
    );
    expect(ana.stderr).toMatch(/may not rotate the store key/);
  });
});
