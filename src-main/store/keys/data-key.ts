/**
 * The store's data key: 256 random bits that encrypt the database pages and the blob files' keys.
 * It exists in the clear only in memory; on disk it is always wrapped (keyring.ts).
 */
import { createHmac, randomBytes } from 'node:crypto';

export const DATA_KEY_BYTES = 32;

export function generateDataKey(): Buffer {
  return randomBytes(DATA_KEY_BYTES);
}

/**
 * A public fingerprint of a key: HMAC-SHA256 keyed with the key over a fixed label, first 16 bytes
 * in hex. It tells "this is the key of that store" apart from "some other key" (e.g. a stale
 * keychain entry) without revealing anything about the key itself.
 */
export function keyFingerprint(key: Buffer): string {
  return createHmac('sha256', key)
    .update('clinprompt data key fingerprint v1')
    .digest()
    .subarray(0, 16)
    .toString('hex');
}

/** Overwrites a key buffer once it is no longer needed (best effort: JS strings cannot be wiped). */
export function wipe(key: Buffer | undefined): void {
  key?.fill(0);
}
