import { describe, expect, it } from 'vitest';

import type { UserError } from '../../../src-main/common/errors.js';
import { generateDataKey } from '../../../src-main/store/keys/data-key.js';
import { chooseDesktopProtection } from '../../../src-main/store/keys/desktop-protection.js';
import type { KeychainBackend } from '../../../src-main/store/keys/keychain.js';
import { unwrapKey, wrapKey, type KeySlot } from '../../../src-main/store/keys/keyring.js';
import { checkedSafeStorageBackend } from '../../../src-main/store/keys/safe-storage.js';
import { safeStorageDouble } from '../../support/safe-storage-double.js';
import { FAST_SCRYPT, PASSPHRASE } from './helpers.js';

const code = (c: string) => expect.objectContaining({ code: c }) as UserError;

describe('key wrapping', () => {
  it('wraps with a passphrase and unwraps only with that passphrase and store id', async () => {
    const key = generateDataKey();
    const slot = await wrapKey(key, 'store-a', { passphrase: PASSPHRASE, scrypt: FAST_SCRYPT });
    expect(JSON.stringify(slot)).not.toContain(key.toString('hex'));
    expect(JSON.stringify(slot)).not.toContain(key.toString('base64'));
    expect((await unwrapKey(slot, 'store-a', { passphrase: PASSPHRASE })).equals(key)).toBe(true);
    await expect(unwrapKey(slot, 'store-a', { passphrase: 'another passphrase' })).rejects.toThrow(code('WRONG_KEY'));
    // the wrapped key is bound to its store: copied into another store's keyring it does not open
    await expect(unwrapKey(slot, 'store-b', { passphrase: PASSPHRASE })).rejects.toThrow(code('WRONG_KEY'));
  });

  it('asks for the passphrase lazily, only when no other source fits', async () => {
    const slot = await wrapKey(generateDataKey(), 's', { passphrase: PASSPHRASE, scrypt: FAST_SCRYPT });
    let asked = 0;
    await unwrapKey(slot, 's', { passphrase: async () => (asked++, PASSPHRASE) });
    expect(asked).toBe(1);
  });

  it('refuses a keyring whose KDF parameters were weakened', async () => {
    const slot = await wrapKey(generateDataKey(), 's', { passphrase: PASSPHRASE, scrypt: FAST_SCRYPT });
    const wrapper = slot.wrappers[0];
    if (wrapper?.kind !== 'passphrase') throw new Error('expected a passphrase wrapper');
    const weakened: KeySlot = { ...slot, wrappers: [{ ...wrapper, kdf: { ...wrapper.kdf, N: 1024 } }] };
    await expect(unwrapKey(weakened, 's', { passphrase: PASSPHRASE })).rejects.toThrow(code('BAD_FILE'));
  });

  it('needs at least one protection', async () => {
    await expect(wrapKey(generateDataKey(), 's', {})).rejects.toThrow(code('INVALID_ARGUMENT'));
  });
});

describe('Electron safeStorage policy', () => {
  it('refuses the unencrypted basic_text backend and an unavailable encryption', () => {
    expect(() => checkedSafeStorageBackend(safeStorageDouble('basic_text'), 'linux')).toThrow(
      /basic_text.*does not protect/,
    );
    expect(() => checkedSafeStorageBackend(safeStorageDouble('unknown'), 'linux')).toThrow(code('UNSUPPORTED'));
    expect(() => checkedSafeStorageBackend(safeStorageDouble('gnome_libsecret', false), 'linux')).toThrow(
      /no encryption backend/,
    );
    expect(checkedSafeStorageBackend(safeStorageDouble('gnome_libsecret'), 'linux')).toBe('gnome_libsecret');
    // the backend question is Linux-only; elsewhere DPAPI / Keychain stand behind safeStorage
    expect(checkedSafeStorageBackend(safeStorageDouble('basic_text'), 'win32')).toBe('win32');
  });

  it('wraps and unwraps through safeStorage, and will not wrap with basic_text', async () => {
    const key = generateDataKey();
    const storage = safeStorageDouble('kwallet6');
    const slot = await wrapKey(key, 's', { safeStorage: storage });
    expect(slot.wrappers.map((w) => w.kind)).toEqual(['safe-storage']);
    expect((await unwrapKey(slot, 's', { safeStorage: storage })).equals(key)).toBe(true);
    await expect(wrapKey(key, 's', { safeStorage: safeStorageDouble('basic_text') })).rejects.toThrow(
      code('UNSUPPORTED'),
    );
  });
});

describe('desktop protection choice', () => {
  /** A keychain whose every call fails, as keytar's do when no Secret Service is running. */
  const absentKeychain: KeychainBackend = {
    getPassword: () =>
      Promise.reject(new Error('The name org.freedesktop.secrets was not provided by any .service files')),
    setPassword: () => Promise.reject(new Error('no secret service')),
    deletePassword: () => Promise.reject(new Error('no secret service')),
  };

  it('falls back from an absent keychain to safeStorage, and from basic_text to a passphrase prompt', async () => {
    const storage = safeStorageDouble('gnome_libsecret');
    const choice = await chooseDesktopProtection({ keychain: absentKeychain, safeStorage: storage });
    expect(choice.protect).toEqual({ safeStorage: storage });

    const none = await chooseDesktopProtection({
      keychain: absentKeychain,
      safeStorage: safeStorageDouble('basic_text'),
    });
    expect(none.protect).toBeUndefined();
    expect(none.reason).toMatch(/keychain refused.*basic_text/s);
  });
});
