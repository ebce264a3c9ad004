/**
 * The OS keychain through keytar: macOS Keychain, Windows Credential Manager, or a Secret Service
 * (GNOME Keyring, KWallet) on Linux over D-Bus. The data key is stored there as hex under the
 * service "ClinPrompt" and an account naming the store and the key's fingerprint; the keychain
 * encrypts it with the user's login secret.
 *
 * keytar is loaded lazily: a server without libsecret or a session bus still runs ClinPrompt with
 * a passphrase, and the error says so instead of failing at startup.
 */
import { UserError } from '../../common/errors.js';

export const KEYCHAIN_SERVICE = 'ClinPrompt';

/** The part of keytar's API the store uses (keytar itself satisfies it). */
export interface KeychainBackend {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
}

let loaded: Promise<KeychainBackend> | undefined;

/** keytar, loaded on first use; UNSUPPORTED if its native module cannot load here. */
export function loadKeytar(): Promise<KeychainBackend> {
  loaded ??= import('keytar').then(
    (module) => (module as { default?: KeychainBackend }).default ?? (module as unknown as KeychainBackend),
    (error: unknown) => {
      loaded = undefined;
      throw new UserError(
        'UNSUPPORTED',
        'The OS keychain is not available on this machine (keytar could not load; on Linux install libsecret-1-0). ' +
          'Use a passphrase instead (--passphrase-only, CLINPROMPT_PASSPHRASE).',
        { cause: error },
      );
    },
  );
  return loaded;
}

/** Runs a keychain call, turning "no Secret Service / locked keychain" failures into a clear UserError. */
export async function keychainCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new UserError(
      'UNSUPPORTED',
      `The OS keychain refused to ${what} (no Secret Service running, or the keychain is locked). ` +
        'Unlock your keychain, or use a passphrase instead (CLINPROMPT_PASSPHRASE).',
      { cause: error },
    );
  }
}
