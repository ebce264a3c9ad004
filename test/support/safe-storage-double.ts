import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

import type { SafeStorageLike } from '../../src-main/store/keys/safe-storage.js';

/**
 * A stand-in for Electron's safeStorage (which needs a running Electron app): it encrypts with a
 * process-local AES key and reports whichever Linux backend the test names. It exercises the
 * store's policy and the app's unlock flow, not Chromium's os_crypt.
 */
export function safeStorageDouble(backend: string, available = true): SafeStorageLike {
  const key = randomBytes(32);
  return {
    isEncryptionAvailable: () => available,
    getSelectedStorageBackend: () => backend,
    encryptString: (plainText) => {
      const iv = randomBytes(16);
      const cipher = createCipheriv('aes-256-cbc', key, iv);
      return Buffer.concat([iv, cipher.update(plainText, 'utf8'), cipher.final()]);
    },
    decryptString: (encrypted) => {
      const decipher = createDecipheriv('aes-256-cbc', key, encrypted.subarray(0, 16));
      return Buffer.concat([decipher.update(encrypted.subarray(16)), decipher.final()]).toString('utf8');
    },
  };
}
