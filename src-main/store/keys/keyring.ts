/**
 * keyring.json: how the store's data key is wrapped, with nothing secret in the clear. A slot
 * holds one data key's fingerprint and the ways it is wrapped (passphrase+scrypt, OS keychain,
 * Electron safeStorage). Each wrapper belongs to one user of the store (`user`): unlocking as a
 * person tries only that person's wrappers, so who acts is proven by their own credential, never
 * asserted. A wrapper without `user` is a shared credential from an older store: it unlocks only
 * for an informatics-admin (store.ts), who then gives everyone their own. During a key rotation a second,
 * `pending` slot holds the new key, so a crash between re-encrypting the database and rewriting
 * this file can always be recovered (store.ts tries the pending key when the current one fails).
 *
 * The file is replaced atomically (write a temp file, fsync, rename), never edited in place.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { nodeErrorCode, UserError } from '../../common/errors.js';
import { fsyncDir, replaceFileAtomically } from '../atomic-file.js';
import { open, seal, type Sealed } from './aead.js';
import { DATA_KEY_BYTES, keyFingerprint } from './data-key.js';
import { KEYCHAIN_SERVICE, keychainCall, type KeychainBackend } from './keychain.js';
import { checkNewPassphrase, deriveKek, newScryptParams, type ScryptParams } from './passphrase.js';
import { checkedSafeStorageBackend, type SafeStorageLike } from './safe-storage.js';

export type WrapperRecord = (
  | { readonly kind: 'passphrase'; readonly kdf: ScryptParams; readonly sealed: Sealed }
  | { readonly kind: 'keychain'; readonly service: string; readonly account: string }
  | { readonly kind: 'safe-storage'; readonly backend: string; readonly ciphertext: string }
) & {
  /** The store user this credential belongs to; absent on a shared credential of an older store. */
  readonly user?: string;
};
export type WrapperKind = WrapperRecord['kind'];

export interface KeySlot {
  readonly fingerprint: string;
  readonly wrappers: readonly WrapperRecord[];
}

export interface KeyringFile {
  readonly format: 'clinprompt-keyring';
  readonly version: 1;
  readonly storeId: string;
  readonly createdAt: string;
  readonly current: KeySlot;
  readonly pending?: KeySlot;
}

/** How to wrap a key: each method given adds one wrapper. */
export interface WrapMethods {
  readonly passphrase?: string;
  readonly keychain?: KeychainBackend;
  readonly safeStorage?: SafeStorageLike;
  /** scrypt cost; the documented default unless a caller (tests) asks otherwise. */
  readonly scrypt?: { N: number; r: number; p: number };
}

/** What the caller can offer to unwrap a key. The passphrase is asked for only when needed. */
export interface KeySources {
  /** Who unlocks: only this user's wrappers (and shared ones of an older store) are tried. */
  readonly user?: string;
  readonly passphrase?: string | (() => Promise<string>);
  readonly keychain?: KeychainBackend;
  readonly safeStorage?: SafeStorageLike;
}

const KIND_NAMES: Record<WrapperKind, string> = {
  passphrase: 'a passphrase (CLINPROMPT_PASSPHRASE)',
  keychain: 'the OS keychain',
  'safe-storage': 'the desktop app (Electron safeStorage)',
};

/** The sealed passphrase wrapper is bound to its store, key and user: moving it to another user breaks it. */
const aadFor = (storeId: string, fingerprint: string, kind: WrapperKind, user: string | undefined) =>
  `clinprompt-keyring-v1|${storeId}|${fingerprint}|${kind}` + (user === undefined ? '' : `|user:${user}`);

/** Wraps `key` with each method given, every wrapper labelled as `user`'s own credential. */
export async function wrapKey(key: Buffer, storeId: string, methods: WrapMethods, user?: string): Promise<KeySlot> {
  if (methods.passphrase !== undefined) checkNewPassphrase(methods.passphrase); // before anything is stored
  const fingerprint = keyFingerprint(key);
  const owner = user === undefined ? {} : { user };
  const wrappers: WrapperRecord[] = [];
  if (methods.safeStorage) {
    const backend = checkedSafeStorageBackend(methods.safeStorage);
    const hex = key.toString('hex'); // safeStorage takes strings only; see store/README.md, "Key hygiene"
    const ciphertext = methods.safeStorage.encryptString(hex).toString('base64');
    wrappers.push({ kind: 'safe-storage', backend, ciphertext, ...owner });
  }
  if (methods.keychain) {
    const keychain = methods.keychain;
    const account = `store-${storeId}-${fingerprint}` + (user === undefined ? '' : `-${user}`);
    const hex = key.toString('hex'); // keytar takes strings only; see store/README.md, "Key hygiene"
    await keychainCall('store the key', () => keychain.setPassword(KEYCHAIN_SERVICE, account, hex));
    wrappers.push({ kind: 'keychain', service: KEYCHAIN_SERVICE, account, ...owner });
  }
  if (methods.passphrase !== undefined) {
    const kdf = newScryptParams(methods.scrypt);
    const kek = await deriveKek(methods.passphrase, kdf);
    const sealed = seal(kek, key, aadFor(storeId, fingerprint, 'passphrase', user));
    wrappers.push({ kind: 'passphrase', kdf, sealed, ...owner });
    kek.fill(0);
  }
  if (wrappers.length === 0) {
    throw new UserError(
      'INVALID_ARGUMENT',
      'The store key needs at least one protection: a passphrase or the OS keychain.',
    );
  }
  return { fingerprint, wrappers };
}

/** The wrappers `user` may unlock with: their own, and shared ones of an older store. */
export function wrappersOf(slot: KeySlot, user: string | undefined): WrapperRecord[] {
  return slot.wrappers.filter((w) => user === undefined || w.user === undefined || w.user === user);
}

/** Unwraps the slot's key (see unlockKey). */
export async function unwrapKey(slot: KeySlot, storeId: string, sources: KeySources): Promise<Buffer> {
  return (await unlockKey(slot, storeId, sources)).key;
}

/**
 * Unwraps the slot's key with the first of the unlocking user's wrappers that fits: safeStorage
 * and the keychain first (no typing), then the passphrase; returns the key and the wrapper that
 * opened it. A wrong passphrase is WRONG_KEY; no usable source is LOCKED.
 */
export async function unlockKey(
  slot: KeySlot,
  storeId: string,
  sources: KeySources,
): Promise<{ key: Buffer; wrapper: WrapperRecord }> {
  const problems: string[] = [];
  const order: WrapperKind[] = ['safe-storage', 'keychain', 'passphrase'];
  const own = wrappersOf(slot, sources.user);
  if (own.length === 0) {
    throw new UserError(
      'LOCKED',
      `"${sources.user ?? ''}" has no credential for this store. An informatics-admin gives them one with ` +
        `\`clinprompt users add\` (new users) or \`clinprompt users passphrase ${sources.user ?? '<username>'}\`.`,
    );
  }
  const wrappers = own.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  for (const wrapper of wrappers) {
    const key = await tryWrapper(wrapper, storeId, slot.fingerprint, sources, problems);
    if (key === undefined) continue;
    if (key.length === DATA_KEY_BYTES && keyFingerprint(key) === slot.fingerprint) return { key, wrapper };
    key.fill(0);
    problems.push(`${KIND_NAMES[wrapper.kind]} holds a key that belongs to another store`);
  }
  const offered = [...new Set(own.map((w) => KIND_NAMES[w.kind]))].join(' or ');
  throw new UserError(
    'LOCKED',
    `The store could not be unlocked. It opens with ${offered}` +
      (problems.length ? ` (${problems.join('; ')}).` : '.'),
  );
}

async function tryWrapper(
  wrapper: WrapperRecord,
  storeId: string,
  fingerprint: string,
  sources: KeySources,
  problems: string[],
): Promise<Buffer | undefined> {
  switch (wrapper.kind) {
    case 'safe-storage': {
      if (!sources.safeStorage) return undefined;
      checkedSafeStorageBackend(sources.safeStorage);
      return Buffer.from(sources.safeStorage.decryptString(Buffer.from(wrapper.ciphertext, 'base64')), 'hex');
    }
    case 'keychain': {
      const keychain = sources.keychain;
      if (!keychain) return undefined;
      try {
        const hex = await keychainCall('read the key', () => keychain.getPassword(wrapper.service, wrapper.account));
        if (hex === null) problems.push('the OS keychain has no entry for this store');
        return hex === null ? undefined : Buffer.from(hex, 'hex'); // keytar returns a string: see README, "Key hygiene"
      } catch (error) {
        if (error instanceof UserError) problems.push('the OS keychain is not reachable');
        return undefined;
      }
    }
    case 'passphrase': {
      if (sources.passphrase === undefined) return undefined;
      const passphrase = typeof sources.passphrase === 'string' ? sources.passphrase : await sources.passphrase();
      const kek = await deriveKek(passphrase, wrapper.kdf);
      const key = open(kek, wrapper.sealed, aadFor(storeId, fingerprint, 'passphrase', wrapper.user));
      kek.fill(0);
      if (key === undefined) {
        throw new UserError('WRONG_KEY', 'Wrong passphrase for this store. Nothing was changed; try again.');
      }
      return key;
    }
  }
}

/** Removes a slot's keychain entries (after a rotation or when a wrapper is dropped). */
export async function forgetSlot(slot: KeySlot, keychain: KeychainBackend | undefined): Promise<void> {
  for (const wrapper of slot.wrappers) {
    if (wrapper.kind === 'keychain' && keychain) {
      await keychainCall('remove an old key', () => keychain.deletePassword(wrapper.service, wrapper.account));
    }
  }
}

export function newStoreId(): string {
  return randomBytes(12).toString('hex');
}

/** The keyring of a new store (or a restored copy): a fresh store id and `key` wrapped with `protect` for `user`. */
export async function newKeyring(key: Buffer, protect: WrapMethods, user: string): Promise<KeyringFile> {
  const storeId = newStoreId();
  return {
    format: 'clinprompt-keyring',
    version: 1,
    storeId,
    createdAt: new Date().toISOString(),
    current: await wrapKey(key, storeId, protect, user),
  };
}

export function readKeyring(file: string): KeyringFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (nodeErrorCode(error) === 'ENOENT') {
      throw new UserError(
        'NOT_FOUND',
        `No keyring at ${file}. Run \`clinprompt store init\`, or check CLINPROMPT_HOME.`,
      );
    }
    throw error;
  }
  let parsed: Partial<KeyringFile>;
  try {
    parsed = JSON.parse(text) as Partial<KeyringFile>;
  } catch {
    parsed = {};
  }
  if (parsed.format !== 'clinprompt-keyring' || parsed.version !== 1 || !parsed.current || !parsed.storeId) {
    throw new UserError('BAD_FILE', `${file} is not a ClinPrompt keyring (version 1). Restore it from a backup.`);
  }
  return parsed as KeyringFile;
}

/** Replaces the keyring file atomically: temp file in the same folder, fsync, rename, fsync the folder. */
export function writeKeyring(file: string, keyring: KeyringFile): void {
  replaceFileAtomically(file, JSON.stringify(keyring, null, 2) + '\n');
  fsyncDir(path.dirname(file));
}
