/**
 * The store's CLI commands, in-process through runCli with captured output, against real encrypted
 * files in a temporary CLINPROMPT_HOME. Each unlock derives the key with the default scrypt cost
 * (~1 s here), so the steps share one store and run in order.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCliCaptured, type CliRun } from '../../support/cli.js';
import { makeTempDir } from '../../support/temp.js';
import { openEncryptedDatabase } from '../../../src-main/store/sqlite.js';
import { openStore, storePaths } from '../../../src-main/store/store.js';

const PASSPHRASE = 'ward seven night shift';
const NEW_PASSPHRASE = 'a rotated passphrase for the store';
const BACKUP_PASSPHRASE = 'the offsite backup passphrase';
const ANA_PASSPHRASE = "ana's own passphrase, not shared";

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
  const asAna = (extra: NodeJS.ProcessEnv = {}) =>
    env({ CLINPROMPT_USER: 'ana', CLINPROMPT_PASSPHRASE: ANA_PASSPHRASE, ...extra });

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
      ['users', 'passphrase', '--help'],
      ['store', 'check', '--help'],
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

  it('manages users by role, each with their own credential; refuses non-admins, and audits both', async () => {
    const add = await runCliCaptured(
      ['users', 'add', 'ana', '--role', 'clinician', '--name', 'Dr Ana'],
      env({ CLINPROMPT_NEW_PASSPHRASE: ANA_PASSPHRASE }),
    );
    expect(add.stderr).toBe('');
    const noCredential = await runCliCaptured(['users', 'add', 'bo', '--role', 'clinician'], env());
    expect(noCredential.stderr).toMatch(/New passphrase for bo is needed. Set CLINPROMPT_NEW_PASSPHRASE/);
    const role = await runCliCaptured(['users', 'role', 'ana', 'data-scientist', '--json'], env());
    expect(json<{ role: string }>(role).role).toBe('data-scientist');
    const list = json<{ username: string; role: string }[]>(await runCliCaptured(['users', 'list', '--json'], env()));
    expect(list.map((u) => `${u.username}:${u.role}`)).toEqual(['admin:informatics-admin', 'ana:data-scientist']);

    const denied = await runCliCaptured(['users', 'add', 'eve', '--role', 'informatics-admin'], asAna());
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/"ana" \(role data-scientist\) may not users.add/);
    expect((await runCliCaptured(['users', 'disable', 'ana'], env())).stdout).toMatch(/ana is now disabled/);
    const disabled = await runCliCaptured(['audit', 'verify'], asAna());
    expect(disabled.stderr).toMatch(/"ana" has no credential for this store/); // disabling revoked it
    expect(
      (await runCliCaptured(['users', 'enable', 'ana'], env({ CLINPROMPT_NEW_PASSPHRASE: ANA_PASSPHRASE }))).code,
    ).toBe(0);
    const stranger = await runCliCaptured(['users', 'list'], env({ CLINPROMPT_USER: 'mallory' }));
    expect(stranger.stderr).toMatch(/"mallory" has no credential for this store/);
    const badRole = await runCliCaptured(
      ['users', 'add', 'bo', '--role', 'surgeon'],
      env({ CLINPROMPT_NEW_PASSPHRASE: ANA_PASSPHRASE }),
    );
    expect(badRole.code).toBe(2);

    const verify = await runCliCaptured(['audit', 'verify', '--json'], env());
    expect(verify.code).toBe(0);
    expect(json<{ ok: boolean; entries: number }>(verify)).toMatchObject({ ok: true });
    const actions = json<{ action: string; username: string; osUser: string }[]>(
      await runCliCaptured(['audit', 'list', '--json', '--limit', '50'], env()),
    );
    expect(actions.map((a) => `${a.username}:${a.action}`)).toEqual(
      expect.arrayContaining([
        'admin:store.init',
        'admin:users.add',
        'admin:users.credential',
        'admin:users.role',
        'ana:permission.denied',
        'admin:users.disable',
        'admin:users.enable',
      ]),
    );
    // the OS login is recorded beside the store user
    expect(new Set(actions.map((a) => a.osUser))).toEqual(new Set([os.userInfo().username]));
  });

  it('does not let anyone act under another name: identity comes from the credential', async () => {
    // ana knows her own passphrase and claims to be admin: admin's credential does not open with it
    const claim = await runCliCaptured(['users', 'list', '--json'], env({ CLINPROMPT_PASSPHRASE: ANA_PASSPHRASE }));
    expect(claim.code).toBe(1);
    expect(JSON.parse(claim.stderr)).toEqual({
      error: { code: 'WRONG_KEY', message: expect.stringMatching(/Wrong passphrase/) },
    });
    expect((await runCliCaptured(['users', 'list'], asAna())).stderr).toMatch(/may not list users/);
    // her own passphrase change needs no admin; the old one stops working
    const changed = await runCliCaptured(
      ['users', 'passphrase', '--json'],
      asAna({ CLINPROMPT_NEW_PASSPHRASE: NEW_PASSPHRASE }),
    );
    expect(json<{ protections: string[] }>(changed)).toEqual({ username: 'ana', protections: ['passphrase'] });
    expect((await runCliCaptured(['audit', 'list'], asAna())).stderr).toMatch(/Wrong passphrase/);
    expect(
      (
        await runCliCaptured(
          ['users', 'passphrase', 'admin'],
          asAna({ CLINPROMPT_PASSPHRASE: NEW_PASSPHRASE, CLINPROMPT_NEW_PASSPHRASE: NEW_PASSPHRASE }),
        )
      ).stderr,
    ).toMatch(/may not set the credential of admin/);
    // and the admin resets it
    expect(
      (await runCliCaptured(['users', 'passphrase', 'ana'], env({ CLINPROMPT_NEW_PASSPHRASE: ANA_PASSPHRASE }))).code,
    ).toBe(0);
  });

  it('counts failed unlocks, makes further attempts wait, and audits them at the next unlock', async () => {
    const wrong = env({ CLINPROMPT_USER: 'ana', CLINPROMPT_PASSPHRASE: 'not what ana chose' });
    for (let i = 0; i < 3; i++)
      expect((await runCliCaptured(['store', 'status'], wrong)).stderr).toMatch(/Wrong passphrase/);
    const held = await runCliCaptured(['store', 'status', '--json'], asAna()); // right passphrase, but too soon
    expect(JSON.parse(held.stderr)).toEqual({
      error: {
        code: 'LOCKED',
        message: expect.stringMatching(/^Too many failed unlocks for "ana" \(3 in a row\)\. Wait [1-5] seconds/),
      },
    });
    expect((await runCliCaptured(['store', 'status'], env())).code).toBe(0); // others are not held up
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect((await runCliCaptured(['store', 'status'], asAna())).code).toBe(0);
    const entries = json<{ action: string; username: string; details: Record<string, unknown> }[]>(
      await runCliCaptured(['audit', 'list', '--json', '--limit', '10'], env()),
    );
    // the newest entries: ana's three failures, audited when she unlocked
    expect(entries.find((e) => e.action === 'unlock.failed')).toMatchObject({
      username: 'ana',
      details: { attempts: 3, osUsers: os.userInfo().username },
    });
  }, 30_000);

  it('audit verify exits 1 and names the entry when the log was tampered with', async () => {
    // an attacker holding the key: open the file directly, drop the trigger, rewrite entry 2
    const store = await openStore(home, { user: 'admin', passphrase: PASSPHRASE });
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
    // credentials belong to the machine's keyring, not the backup: ana gets a new one from the admin
    expect((await runCliCaptured(['store', 'status'], asAna({ CLINPROMPT_HOME: home2 }))).stderr).toMatch(
      /"ana" has no credential for this store/,
    );
    const asBo = await runCliCaptured(
      ['store', 'restore', file],
      env({
        CLINPROMPT_HOME: `${tmp.dir}/home3`,
        CLINPROMPT_USER: 'ana',
        CLINPROMPT_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE,
      }),
    );
    expect(asBo.stderr).toMatch(/"ana" is not an active informatics-admin of the backed-up store/);
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
    expect(json<{ needNewCredential: string[] }>(rekey).needNewCredential).toEqual(['ana']);
    const after = await runCliCaptured(['store', 'status', '--json'], env({ CLINPROMPT_PASSPHRASE: NEW_PASSPHRASE }));
    expect(json<{ counts: { users: number } }>(after).counts.users).toBe(2);
    expect((await runCliCaptured(['store', 'status'], asAna())).stderr).toMatch(/"ana" has no credential/);
    const reset = await runCliCaptured(
      ['users', 'passphrase', 'ana'],
      env({ CLINPROMPT_PASSPHRASE: NEW_PASSPHRASE, CLINPROMPT_NEW_PASSPHRASE: ANA_PASSPHRASE }),
    );
    expect(reset.code).toBe(0);
    expect((await runCliCaptured(['store', 'rekey'], asAna())).stderr).toMatch(/may not rotate the store key/);
  });
});
