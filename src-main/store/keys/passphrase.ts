/**
 * Passphrase-derived key-encryption keys for headless servers, with scrypt (RFC 7914), a
 * memory-hard KDF, so that guessing passphrases from a stolen keyring file needs ~128 MiB and
 * about a second of CPU per guess.
 *
 * Parameters: N = 2^17, r = 8, p = 1 (memory 128 * N * r = 128 MiB), a 16-byte random salt, a
 * 32-byte output. These are OWASP's recommended minimum for scrypt (Password Storage Cheat Sheet,
 * 2023+) and the "interactive login" point of RFC 7914 section 2 scaled to today's hardware. They
 * are stored beside each wrapped key, so stronger parameters can be introduced without breaking
 * existing stores.
 */
import { randomBytes, scrypt } from 'node:crypto';

import { UserError } from '../../common/errors.js';

export interface ScryptParams {
  readonly name: 'scrypt';
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: string; // base64
}

export const DEFAULT_SCRYPT = { N: 2 ** 17, r: 8, p: 1 } as const;
/** Weakest parameters a keyring may claim (a tampered file must not downgrade the KDF silently). */
const MIN_N = 2 ** 14;

export const MIN_PASSPHRASE_LENGTH = 12;

export function newScryptParams(cost: { N: number; r: number; p: number } = DEFAULT_SCRYPT): ScryptParams {
  return { name: 'scrypt', ...cost, salt: randomBytes(16).toString('base64') };
}

/** Derives the 256-bit key-encryption key from a passphrase. */
export function deriveKek(passphrase: string, params: ScryptParams): Promise<Buffer> {
  if (params.name !== 'scrypt' || params.N < MIN_N || params.r < 8 || params.p < 1) {
    throw new UserError(
      'BAD_FILE',
      'The keyring names KDF parameters weaker than ClinPrompt accepts; it may have been altered.',
    );
  }
  const maxmem = 128 * params.N * params.r * params.p + 32 * 1024 * 1024;
  return new Promise((resolve, reject) =>
    scrypt(
      passphrase.normalize('NFKC'),
      Buffer.from(params.salt, 'base64'),
      32,
      { N: params.N, r: params.r, p: params.p, maxmem },
      (error, key) => (error ? reject(error) : resolve(key)),
    ),
  );
}

/** Refuses passphrases too short to resist guessing, naming the rule (never echoing the passphrase). */
export function checkNewPassphrase(passphrase: string): void {
  if ([...passphrase.normalize('NFKC')].length < MIN_PASSPHRASE_LENGTH) {
    throw new UserError(
      'INVALID_ARGUMENT',
      `The passphrase is too short: use at least ${MIN_PASSPHRASE_LENGTH} characters (a few unrelated words work well).`,
    );
  }
}
