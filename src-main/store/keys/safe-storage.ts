/**
 * Electron's safeStorage as a key wrapper, for the desktop app on machines where keytar has no
 * backend. Chromium's os_crypt encrypts with a key held by DPAPI (Windows), the Keychain (macOS)
 * or libsecret/KWallet (Linux). On Linux without any of those it silently falls back to
 * "basic_text", a hard-coded key that protects nothing: that backend is refused.
 *
 * The store cannot import electron (eslint layering), so it takes this small interface; the shell
 * passes Electron's `safeStorage` (shell/safe-storage-key-wrapper.ts).
 */
import { UserError } from '../../common/errors.js';

export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  /** Linux only in Electron; absent (or not called) elsewhere. */
  getSelectedStorageBackend?(): string;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

/** The backend in use, after refusing the ones that would keep the key effectively in the clear. */
export function checkedSafeStorageBackend(
  safeStorage: SafeStorageLike,
  platform: NodeJS.Platform = process.platform,
): string {
  if (!safeStorage.isEncryptionAvailable()) {
    throw new UserError(
      'UNSUPPORTED',
      'Electron safeStorage has no encryption backend on this machine. Use the OS keychain or a passphrase.',
    );
  }
  const backend = platform === 'linux' ? (safeStorage.getSelectedStorageBackend?.() ?? 'unknown') : platform;
  if (backend === 'basic_text' || backend === 'unknown') {
    throw new UserError(
      'UNSUPPORTED',
      `Electron safeStorage would use the "${backend}" backend, which does not protect the key. ` +
        'Install and unlock GNOME Keyring or KWallet, or use a passphrase.',
    );
  }
  return backend;
}
