/**
 * Passphrases changed in the app (`users.changePassphrase`, `users.resetPassphrase`) through the
 * validating dispatcher, on a real encrypted store: the person's key slot is wrapped again, the old
 * passphrase stops opening the store and the new one opens the same data; an informatics
 * administrator sets a new one for a colleague who forgot theirs; each change is audited, and no
 * passphrase reaches the log, the audit log or the keyring file.
 */
import { readFileSync } from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';

import { log } from '../../../src-main/common/log.js';
import { createDispatcher } from '../../../src-main/ipc/dispatcher.js';
import { createServices } from '../../../src-main/services/index.js';
import { storePaths } from '../../../src-main/store/store.js';
import { ncbiDiseaseSlice } from '../../support/data-slices.js';
import { makeTempDir } from '../../support/temp.js';

const FAST_SCRYPT = { N: 2 ** 14, r: 8, p: 1 };
const ADMIN = 'dr.ada';
const OLD = 'correct horse battery staple';
const NEW = 'lantern meadow copper seven';
const COLLEAGUE = 'dr-jones';
const COLLEAGUE_FIRST = 'amber willow kettle four';
const COLLEAGUE_RESET = 'granite otter violet twelve';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The app at `username`'s login on the store in `home`, called as the renderer calls it. */
function appAt(home: string, username: string) {
  const services = createServices({ dataDir: home, store: { username, scrypt: FAST_SCRYPT } });
  cleanups.push(() => services.dispose());
  const dispatcher = createDispatcher(services.handlers);
  const call = (name: string, ...args: unknown[]) => dispatcher.invoke(name, args);
  return { services, call };
}

function captureLog(): string[] {
  const lines: string[] = [];
  const previous = log.setSink((line) => lines.push(line));
  log.setLevel('debug');
  cleanups.push(() => {
    log.setSink(previous);
    log.setLevel('warn');
  });
  return lines;
}

describe('passphrases changed in the app', () => {
  it('a signed-in person changes their own: the old one stops working, the new one opens the same data', async () => {
    const home = makeTempDir();
    cleanups.push(home.cleanup);
    const { services, call } = appAt(home.dir, ADMIN);
    const lines = captureLog();
    await services.store.setUp({ passphrase: OLD });
    const imported = await call('datasets.import', {
      format: 'conll',
      path: ncbiDiseaseSlice(home.dir),
      task: 'ner',
      name: 'kept',
    });
    if (!imported.ok) throw new Error('import failed');
    const { counts } = imported.value as { counts: { total: number } };
    const credentialChanges = () =>
      services.store.use((s) => s.audit.recent(50).filter((e) => e.action === 'users.credential').length);
    const changesBefore = await credentialChanges();

    // refused, each naming its field, nothing changed: a wrong current one, a weak new one, the same one again
    expect(await call('users.changePassphrase', { currentPassphrase: 'not my passphrase', passphrase: NEW })).toEqual({
      ok: false,
      error: { code: 'WRONG_KEY', field: 'currentPassphrase', message: expect.stringMatching(/Wrong passphrase/) },
    });
    expect(await call('users.changePassphrase', { currentPassphrase: OLD, passphrase: 'too short' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT', field: 'passphrase', message: expect.stringMatching(/too short/) },
    });
    expect(await call('users.changePassphrase', { currentPassphrase: OLD, passphrase: OLD })).toMatchObject({
      ok: false,
      error: { field: 'passphrase' },
    });
    const keyring = readFileSync(storePaths(home.dir).keyringFile, 'utf8');

    expect(await call('users.changePassphrase', { currentPassphrase: OLD, passphrase: NEW })).toMatchObject({
      ok: true,
      value: { username: ADMIN, you: true, active: true },
    });
    const rewrapped = readFileSync(storePaths(home.dir).keyringFile, 'utf8');
    expect(rewrapped).not.toBe(keyring);
    expect(JSON.parse(rewrapped).current.fingerprint).toBe(JSON.parse(keyring).current.fingerprint); // same key, same data

    await services.store.lock();
    expect(await call('store.unlock', { passphrase: OLD })).toMatchObject({ ok: false, error: { code: 'WRONG_KEY' } });
    expect(await call('store.unlock', { passphrase: NEW })).toMatchObject({ ok: true, value: { state: 'unlocked' } });
    expect(await call('datasets.list')).toMatchObject({ ok: true, value: [{ name: 'kept', counts }] });

    expect(await credentialChanges()).toBe(changesBefore + 1); // the change, audited once
    const audit = await services.store.use((s) => s.audit.recent(50));
    for (const text of [JSON.stringify(audit), lines.join('\n'), rewrapped]) {
      expect(text).not.toContain(OLD);
      expect(text).not.toContain(NEW);
    }
  });

  it('an informatics administrator sets a new passphrase for a colleague who forgot theirs; others may not', async () => {
    const home = makeTempDir();
    cleanups.push(home.cleanup);
    const admin = appAt(home.dir, ADMIN);
    const lines = captureLog();
    await admin.services.store.setUp({ passphrase: OLD });
    expect(
      await admin.call('users.add', { username: COLLEAGUE, role: 'clinician', passphrase: COLLEAGUE_FIRST }),
    ).toMatchObject({ ok: true });

    // the colleague cannot reset anyone's, nor use the reset for their own without the current one
    const colleague = appAt(home.dir, COLLEAGUE);
    expect(await colleague.call('store.unlock', { passphrase: COLLEAGUE_FIRST })).toMatchObject({ ok: true });
    expect(await colleague.call('users.resetPassphrase', { username: ADMIN, passphrase: NEW })).toMatchObject({
      ok: false,
      error: { code: 'PERMISSION_DENIED' },
    });
    expect(await colleague.call('users.resetPassphrase', { username: COLLEAGUE, passphrase: NEW })).toMatchObject({
      ok: false,
      error: { code: 'PERMISSION_DENIED' },
    });
    await colleague.services.store.lock();

    expect(
      await admin.call('users.resetPassphrase', { username: 'nobody', passphrase: COLLEAGUE_RESET }),
    ).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', field: 'username' } });
    expect(await admin.call('users.resetPassphrase', { username: ADMIN, passphrase: COLLEAGUE_RESET })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT', field: 'username' },
    });
    expect(
      await admin.call('users.resetPassphrase', { username: COLLEAGUE, passphrase: COLLEAGUE_RESET }),
    ).toMatchObject({ ok: true, value: { username: COLLEAGUE, you: false, roleTitle: 'Clinician' } });

    expect(await colleague.call('store.unlock', { passphrase: COLLEAGUE_FIRST })).toMatchObject({
      ok: false,
      error: { code: 'WRONG_KEY' },
    });
    expect(await colleague.call('store.unlock', { passphrase: COLLEAGUE_RESET })).toMatchObject({
      ok: true,
      value: { state: 'unlocked', username: COLLEAGUE },
    });
    // the admin's own passphrase is untouched
    await admin.services.store.lock();
    expect(await admin.call('store.unlock', { passphrase: OLD })).toMatchObject({ ok: true });
    const audit = await admin.services.store.use((s) => s.audit.recent(30));
    expect(
      audit.filter((e) => e.action === 'users.credential' && e.username === ADMIN).map((e) => e.details?.['username']),
    ).toEqual([COLLEAGUE, COLLEAGUE]); // the reset, and the first one at users.add
    for (const text of [JSON.stringify(audit), lines.join('\n')]) {
      for (const secret of [COLLEAGUE_FIRST, COLLEAGUE_RESET, OLD]) expect(text).not.toContain(secret);
    }
  });

  it('a wrong current passphrase counts like a failed unlock: audited at once, and guessing must wait', async () => {
    const home = makeTempDir();
    cleanups.push(home.cleanup);
    const { services, call } = appAt(home.dir, ADMIN);
    await services.store.setUp({ passphrase: OLD });
    const failedUnlocks = () =>
      services.store.use((s) => s.audit.recent(50).filter((e) => e.action === 'unlock.failed' && e.username === ADMIN));

    const guess = (currentPassphrase: string) => call('users.changePassphrase', { currentPassphrase, passphrase: NEW });
    expect(await guess('first wrong guess')).toMatchObject({ ok: false, error: { code: 'WRONG_KEY' } });
    expect(await failedUnlocks()).toMatchObject([{ details: { attempts: 1 } }]); // in the audit log now, not at the next unlock
    for (const wrong of ['second wrong guess', 'third wrong guess'])
      expect(await guess(wrong)).toMatchObject({ ok: false, error: { code: 'WRONG_KEY' } });
    expect(await failedUnlocks()).toHaveLength(3);
    // three in a row: even the right one must wait, and nothing changes
    expect(await guess(OLD)).toMatchObject({
      ok: false,
      error: {
        code: 'LOCKED',
        field: 'currentPassphrase',
        message: expect.stringMatching(/Too many failed.*Wait \d+ seconds/),
      },
    });
    await services.store.lock();
    expect(await call('store.unlock', { passphrase: NEW })).toMatchObject({ ok: false, error: { code: 'LOCKED' } });
  });
});
