/**
 * How the CLI reaches the encrypted store headless: the data folder is CLINPROMPT_HOME (or the OS
 * default); the person is CLINPROMPT_USER, or the workstation login, and proves it with their own
 * credential: their OS keychain entry when they have one, else their passphrase
 * (CLINPROMPT_PASSPHRASE, or a hidden prompt on a terminal).
 */
import os from 'node:os';

import { UserError } from '../common/errors.js';
import { loadKeytar, type KeychainBackend } from '../store/keys/keychain.js';
import { readKeyring, wrappersOf, type KeySources } from '../store/keys/keyring.js';
import { auditSinkFromEnv } from '../store/audit-sink.js';
import { openStore, storePaths, type Store, type StoreOptions } from '../store/store.js';
import type { CliIo } from './output.js';
import { readPassphrase, takeSecretVariable } from './passphrase.js';

/** The user the CLI acts as: CLINPROMPT_USER, else the OS login name. */
export function cliActor(io: CliIo): string {
  const fromEnv = io.env['CLINPROMPT_USER'];
  return fromEnv !== undefined && fromEnv.trim() !== '' ? fromEnv.trim() : os.userInfo().username;
}

/** keytar when it loads on this machine, else undefined (the passphrase path still works). */
export async function optionalKeychain(): Promise<KeychainBackend | undefined> {
  return loadKeytar().catch(() => undefined);
}

/** The ways the CLI can offer to unlock the store in `dataDir`; the passphrase is asked for only if needed. */
export async function cliKeySources(
  io: CliIo,
  dataDir: string,
): Promise<KeySources & { user: string; passphraseUsed(): string | undefined }> {
  const keyring = readKeyring(storePaths(dataDir).keyringFile);
  const user = cliActor(io);
  const wantsKeychain = wrappersOf(keyring.current, user).some((w) => w.kind === 'keychain');
  const keychain = wantsKeychain ? await optionalKeychain() : undefined;
  let used: string | undefined;
  return {
    user,
    ...(keychain ? { keychain } : {}),
    passphrase: async () => (used = await readPassphrase(io)),
    passphraseUsed: () => used,
  };
}

/** Store options every CLI command takes from its environment (the audit head's external copy). */
export function cliStoreOptions(io: CliIo): StoreOptions {
  return { auditSink: auditSinkFromEnv(io.env) };
}

/** Opens and unlocks the store for one CLI command. */
export async function unlockStoreForCli(
  io: CliIo,
  dataDir: string,
): Promise<{ store: Store; passphraseUsed(): string | undefined }> {
  const sources = await cliKeySources(io, dataDir);
  const store = await openStore(dataDir, sources, {
    ...cliStoreOptions(io),
    ...(sources.keychain ? { keychain: sources.keychain } : {}),
  });
  return { store, passphraseUsed: sources.passphraseUsed };
}

/**
 * A secret from an environment variable, else a hidden prompt (asked twice when `confirm`), else a
 * clear error naming the variable.
 */
export async function readSecret(io: CliIo, envName: string, purpose: string, confirm = false): Promise<string> {
  const fromEnv = takeSecretVariable(io, envName);
  if (fromEnv !== undefined) return fromEnv;
  if (io.askSecret) {
    const first = await io.askSecret(`${purpose}: `);
    if (confirm && (await io.askSecret(`${purpose} (again): `)) !== first) {
      throw new UserError('INVALID_ARGUMENT', 'The two entries did not match. Nothing was changed; try again.');
    }
    if (first !== '') return first;
  }
  throw new UserError('INVALID_ARGUMENT', `${purpose} is needed. Set ${envName} or run the command on a terminal.`);
}
