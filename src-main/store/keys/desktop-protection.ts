/**
 * Which protection the desktop app gives a new store's key besides the person's passphrase (the
 * one-click unlock): the OS keychain when it answers, else Electron safeStorage when its backend
 * really encrypts (never Linux's "basic_text"), else none, and the passphrase alone protects it.
 */
import { KEYCHAIN_SERVICE, keychainCall, type KeychainBackend } from './keychain.js';
import type { WrapMethods } from './keyring.js';
import { checkedSafeStorageBackend, type SafeStorageLike } from './safe-storage.js';

export interface DesktopProtectionChoice {
  readonly protect?: WrapMethods;
  /** Why nothing automatic was chosen (shown beside the passphrase prompt). */
  readonly reason?: string;
}

export async function chooseDesktopProtection(available: {
  readonly keychain?: KeychainBackend;
  readonly safeStorage?: SafeStorageLike;
}): Promise<DesktopProtectionChoice> {
  const problems: string[] = [];
  if (available.keychain) {
    const keychain = available.keychain;
    try {
      // a read of an entry that need not exist: proves a reachable, unlocked backend
      await keychainCall('answer', () => keychain.getPassword(KEYCHAIN_SERVICE, 'availability-probe'));
      return { protect: { keychain } };
    } catch (error) {
      problems.push(error instanceof Error ? error.message : 'the OS keychain is not available');
    }
  }
  if (available.safeStorage) {
    try {
      checkedSafeStorageBackend(available.safeStorage);
      return { protect: { safeStorage: available.safeStorage } };
    } catch (error) {
      problems.push(error instanceof Error ? error.message : 'Electron safeStorage is not available');
    }
  }
  return { reason: problems.join(' ') || 'No OS keychain or safeStorage backend is available; choose a passphrase.' };
}
