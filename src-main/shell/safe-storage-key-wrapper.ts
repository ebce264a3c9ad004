/**
 * Electron's safeStorage for the store's key wrapper (store/keys/safe-storage.ts holds the policy,
 * including the refusal of Linux's unencrypted "basic_text" backend). The store cannot import
 * electron, so the shell hands it this adapter; it is only valid after `app` is ready.
 */
import { safeStorage } from 'electron';

import { checkedSafeStorageBackend, type SafeStorageLike } from '../store/keys/safe-storage.js';

/** Electron's safeStorage as the store sees it, or undefined where it would not protect the key. */
export function electronSafeStorage(): SafeStorageLike | undefined {
  const adapter: SafeStorageLike = {
    isEncryptionAvailable: () => safeStorage.isEncryptionAvailable(),
    getSelectedStorageBackend: () => safeStorage.getSelectedStorageBackend(),
    encryptString: (plainText) => safeStorage.encryptString(plainText),
    decryptString: (encrypted) => safeStorage.decryptString(encrypted),
  };
  try {
    checkedSafeStorageBackend(adapter);
    return adapter;
  } catch {
    return undefined; // keychain or passphrase instead; the store's own check explains why if asked
  }
}
