/**
 * The OS-keychain path against a real Secret Service (gnome-keyring on a private D-Bus, started by
 * this test): the data key is stored by keytar/libsecret, unlocks the store without a passphrase,
 * is replaced on key rotation, and its absence or a stale entry gives clear errors.
 */
import { readFileSync } from 'node:fs';

import { afterAll, describe, expect, it } from 'vitest';

import type { UserError } from '../../../src-main/common/errors.js';
import { keyFingerprint } from '../../../src-main/store/keys/data-key.js';
import { chooseDesktopProtection } from '../../../src-main/store/keys/desktop-protection.js';
import { KEYCHAIN_SERVICE } from '../../../src-main/store/keys/keychain.js';
import { initStore, openStore } from '../../../src-main/store/store.js';
import { runCliCaptured } from '../../support/cli.js';
import { skipUnlessAvailable } from '../../support/prerequisites.js';
import { makeTempDir } from '../../support/temp.js';
import { secretServiceUnavailableReason, useRealKeychain } from './secret-service.js';

const skip = skipUnlessAvailable(secretServiceUnavailableReason(), 'keychain tests');

const code = (c: string) => expect.objectContaining({ code: c }) as UserError;
const FAST_SCRYPT = { N: 2 ** 14, r: 8, p: 1 };

describe.skipIf(skip)('store key in a real Secret Service (gnome-keyring)', () => {
  const keytar = useRealKeychain();
  const tmp = makeTempDir('clinprompt-keychain-');
  afterAll(() => tmp.cleanup());

  it('stores the key in the keychain, not on disk, and unlocks without a passphrase', async () => {
    const home = `${tmp.dir}/a`;
    const store = await initStore(home, { protect: { keychain: keytar() }, admin: { username: 'admin' } });
    const key = store.exportKey();
    const wrapper = store.keyring.current.wrappers[0];
    expect(wrapper?.kind).toBe('keychain');
    if (wrapper?.kind !== 'keychain') return;
    expect(wrapper.service).toBe(KEYCHAIN_SERVICE);
    const stored = await keytar().getPassword(wrapper.service, wrapper.account);
    expect(stored).toBe(key.toString('hex'));
    expect(readFileSync(store.paths.keyringFile, 'utf8')).not.toContain(key.toString('hex'));
    store.close();

    const reopened = await openStore(home, { user: 'admin', keychain: keytar() });
    expect(keyFingerprint(reopened.exportKey())).toBe(keyFingerprint(key));
    reopened.close();
    await expect(openStore(home, { user: 'admin' })).rejects.toThrow(code('LOCKED'));
  });

  it('is what the desktop app chooses when the keychain answers', async () => {
    const choice = await chooseDesktopProtection({ keychain: keytar() });
    expect(choice.protect?.keychain).toBe(keytar());
  });

  it('falls back to the passphrase when the keychain entry is gone, and says so when there is none', async () => {
    const home = `${tmp.dir}/b`;
    const passphrase = 'fallback passphrase for b';
    const store = await initStore(home, {
      protect: { keychain: keytar(), passphrase, scrypt: FAST_SCRYPT },
      admin: { username: 'admin' },
    });
    const wrapper = store.keyring.current.wrappers.find((w) => w.kind === 'keychain');
    store.close();
    if (wrapper?.kind !== 'keychain') throw new Error('no keychain wrapper');

    expect(await keytar().deletePassword(wrapper.service, wrapper.account)).toBe(true);
    await expect(openStore(home, { user: 'admin', keychain: keytar() })).rejects.toThrow(/has no entry for this store/);
    (await openStore(home, { user: 'admin', keychain: keytar(), passphrase })).close();

    // a stale entry holding some other key is recognised by its fingerprint
    await keytar().setPassword(wrapper.service, wrapper.account, 'ab'.repeat(32));
    await expect(openStore(home, { user: 'admin', keychain: keytar() })).rejects.toThrow(/belongs to another store/);
  });

  it('replaces the keychain entry when the data key is rotated', async () => {
    const home = `${tmp.dir}/c`;
    const store = await initStore(home, { protect: { keychain: keytar() }, admin: { username: 'admin' } });
    const before = store.keyring.current.wrappers[0];
    store.notes.importNotes('c', [{ text: 'kept across rotation' }], 'admin');
    await store.rotateKey({ keychain: keytar() }, store.session('admin'));
    const after = store.keyring.current.wrappers[0];
    store.close();
    if (before?.kind !== 'keychain' || after?.kind !== 'keychain') throw new Error('no keychain wrapper');
    expect(after.account).not.toBe(before.account);
    expect(await keytar().getPassword(before.service, before.account)).toBeNull();
    const reopened = await openStore(home, { user: 'admin', keychain: keytar() });
    expect(reopened.notes.list('c')[0]?.text).toBe('kept across rotation');
    reopened.close();
  });

  it('lets the CLI create and unlock a keychain-only store headless', async () => {
    const env = { CLINPROMPT_HOME: `${tmp.dir}/cli`, CLINPROMPT_USER: 'admin' };
    const init = await runCliCaptured(['store', 'init', '--keychain', '--no-passphrase', '--json'], env);
    expect(init.stderr).toBe('');
    expect(JSON.parse(init.stdout)).toMatchObject({ protections: ['keychain'] });
    const status = await runCliCaptured(['store', 'status', '--json'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ counts: { users: 1 } });
    const rekey = await runCliCaptured(['store', 'rekey', '--json'], env);
    expect(JSON.parse(rekey.stdout)).toMatchObject({ rotated: true, protections: ['keychain'] });
    expect((await runCliCaptured(['audit', 'verify'], env)).code).toBe(0);
  });

  it('checks the passphrase before re-protecting a keychain-unlocked key with it', async () => {
    const env = {
      CLINPROMPT_HOME: `${tmp.dir}/cli2`,
      CLINPROMPT_USER: 'admin',
      CLINPROMPT_PASSPHRASE: 'keychain plus passphrase',
    };
    expect((await runCliCaptured(['store', 'init', '--keychain'], env)).code).toBe(0);
    const status = async () =>
      JSON.parse((await runCliCaptured(['store', 'status', '--json'], env)).stdout) as { keyFingerprint: string };
    const before = await status();
    const typo = await runCliCaptured(['store', 'rekey'], {
      ...env,
      CLINPROMPT_PASSPHRASE: 'keychain plus passphrasE',
    });
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/Wrong passphrase/);
    expect((await status()).keyFingerprint).toBe(before.keyFingerprint);
    const rekey = await runCliCaptured(['store', 'rekey', '--json'], env);
    expect(JSON.parse(rekey.stdout)).toMatchObject({ rotated: true, protections: ['keychain', 'passphrase'] });
    // both protections still open the rotated store
    const viaPassphrase = await openStore(env.CLINPROMPT_HOME, {
      user: 'admin',
      passphrase: env.CLINPROMPT_PASSPHRASE,
    });
    viaPassphrase.close();
    (await openStore(env.CLINPROMPT_HOME, { user: 'admin', keychain: keytar() })).close();
  });
});
