/**
 * Opens the encrypted SQLite file: SQLite3 Multiple Ciphers in SQLCipher-4-compatible mode
 * (AES-256-CBC pages, HMAC-SHA512 per page; https://utelle.github.io/SQLite3MultipleCiphers/docs/ciphers/cipher_sqlcipher/).
 *
 * The order matters and is fixed here, in one place:
 *   1. choose the cipher and set the key before any other statement touches the file;
 *   2. verify the key right away by reading sqlite_master (a wrong key fails with SQLITE_NOTADB);
 *   3. only then switch on WAL, foreign keys, in-memory temp storage and secure delete.
 * A file that exists but does not open is never replaced: creating requires that no file exists,
 * opening requires that one does (`fileMustExist`), so a wrong key cannot lead to a fresh database
 * over patient data.
 *
 * The key is a raw 256-bit key given as `x'<hex>'`, so SQLCipher's PBKDF2 step is skipped (the key
 * is already random; passphrases go through scrypt in keys/passphrase.ts first).
 */
import { existsSync } from 'node:fs';

import Database from 'better-sqlite3-multiple-ciphers';

import { UserError } from '../common/errors.js';
import { DATA_KEY_BYTES } from './keys/data-key.js';

export type Db = Database.Database;

export interface OpenOptions {
  /** true: the file must not exist yet (store init); false: it must exist (everything else). */
  readonly create: boolean;
  readonly readonly?: boolean;
  /** How long a connection waits for another process's write lock, in ms. */
  readonly busyTimeoutMs?: number;
}

/**
 * SQLite3MC's raw-key syntax `x'<64 hex digits>'` as bytes, built digit by digit in a Buffer so
 * the key never becomes a JavaScript string (which could not be wiped); the caller wipes it.
 */
export function rawKeyLiteral(key: Buffer): Buffer {
  if (key.length !== DATA_KEY_BYTES) throw new Error(`data key must be ${DATA_KEY_BYTES} bytes`);
  const digits = Buffer.from('0123456789abcdef', 'ascii');
  const literal = Buffer.alloc(3 + 2 * key.length);
  literal[0] = 0x78; // x
  literal[1] = 0x27; // '
  key.forEach((byte, i) => {
    literal[2 + 2 * i] = digits[byte >> 4] as number;
    literal[3 + 2 * i] = digits[byte & 15] as number;
  });
  literal[literal.length - 1] = 0x27;
  return literal;
}

/** Sets the cipher and the raw key on a connection that has not run any other statement. */
export function applyKey(db: Db, key: Buffer): void {
  db.pragma(`cipher='sqlcipher'`);
  db.pragma('legacy=4');
  const literal = rawKeyLiteral(key);
  try {
    db.key(literal);
  } finally {
    literal.fill(0);
  }
}

/** Re-encrypts the whole database with `key` (PRAGMA rekey, without the key in a string). */
export function rekeyDatabase(db: Db, key: Buffer): void {
  const literal = rawKeyLiteral(key);
  try {
    db.rekey(literal);
  } finally {
    literal.fill(0);
  }
}

/** Opens (or creates) the encrypted database file with `key`, verified and configured. */
export function openEncryptedDatabase(file: string, key: Buffer, options: OpenOptions): Db {
  if (options.create && existsSync(file)) {
    throw new UserError(
      'ALREADY_EXISTS',
      `A store already exists at ${file}. It was left untouched; unlock it instead of creating a new one.`,
    );
  }
  if (!options.create && !existsSync(file)) {
    throw new UserError(
      'NOT_FOUND',
      `No store at ${file}. Run \`clinprompt store init\` first, or check CLINPROMPT_HOME.`,
    );
  }
  const db = new Database(file, {
    fileMustExist: !options.create,
    readonly: options.readonly ?? false,
    timeout: options.busyTimeoutMs ?? 10_000,
  });
  try {
    applyKey(db, key);
    whenBusy(() => {
      verifyKey(db, file);
      configure(db, options.readonly ?? false);
    });
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** The documented answer when another process holds the store's write lock (README, "Busy, not broken"). */
export function storeBusy(): UserError {
  return new UserError(
    'LOCKED',
    'The store is busy: another ClinPrompt process (an import, a training job, a backup or a key rotation) is ' +
      'writing to it. Nothing was changed; retry when it finishes.',
  );
}

/**
 * Runs `work`, turning SQLite's "database is locked" (another process kept the write lock longer
 * than the busy timeout) into the LOCKED UserError: busy is not broken.
 */
export function whenBusy<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (isSqliteCode(error, 'SQLITE_BUSY') || isSqliteCode(error, 'SQLITE_LOCKED')) throw storeBusy();
    throw error;
  }
}

/** Reads the schema table: the first read of an encrypted page, so it fails on a wrong key. */
function verifyKey(db: Db, file: string): void {
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').pluck().get();
  } catch (error) {
    if (isSqliteCode(error, 'SQLITE_NOTADB')) {
      throw new UserError(
        'WRONG_KEY',
        `The store at ${file} could not be decrypted with this key (wrong passphrase, or a key from another store). ` +
          'Nothing was changed; try again with the right passphrase or keychain entry.',
      );
    }
    throw error;
  }
}

function configure(db: Db, readonly: boolean): void {
  // WAL lets the UI read while a training worker writes; it persists in the file once set.
  if (!readonly) db.pragma('journal_mode = WAL');
  // FULL: a committed transaction survives power loss too, not only a killed process.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Sorts and temp tables stay in memory: an unencrypted temp file could hold note text.
  db.pragma('temp_store = MEMORY');
  // Deleted content is overwritten (inside the encrypted pages) instead of lingering in free pages.
  db.pragma('secure_delete = ON');
}

export function isSqliteCode(error: unknown, code: string): boolean {
  return error instanceof Database.SqliteError && (error.code === code || error.code.startsWith(code + '_'));
}

/** Closes a connection, ignoring a connection that is already closed. */
export function closeQuietly(db: Db | undefined): void {
  if (db?.open) db.close();
}

/** `PRAGMA integrity_check`: 'ok' or the list of problems SQLite found. */
export function integrityCheck(db: Db): string[] {
  const rows = db.pragma('integrity_check') as { integrity_check: string }[];
  return rows.map((r) => r.integrity_check);
}
