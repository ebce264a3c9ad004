/**
 * AES-256-GCM sealing of small secrets (NIST SP 800-38D): a fresh 96-bit random nonce per seal,
 * a 128-bit tag, and associated data binding the ciphertext to its context (store id, purpose) so
 * a wrapped key cannot be moved to another store or slot unnoticed.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface Sealed {
  readonly nonce: string; // base64, 12 bytes
  readonly ciphertext: string; // base64
  readonly tag: string; // base64, 16 bytes
}

export function seal(key: Buffer, plaintext: Buffer, aad: string): Sealed {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    nonce: nonce.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

/** Opens a sealed value; `undefined` when the key or the associated data is wrong (or it was altered). */
export function open(key: Buffer, sealed: Sealed, aad: string): Buffer | undefined {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.nonce, 'base64'));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  try {
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]);
  } catch {
    return undefined;
  }
}
