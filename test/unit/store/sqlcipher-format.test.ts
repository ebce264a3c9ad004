/**
 * An independent check that the database file really is SQLCipher 4 (AES-256-CBC pages with
 * HMAC-SHA512), decoding page 1 with Node's crypto from the format's specification
 * (https://www.zetetic.net/sqlcipher/design/) rather than trusting the library that wrote it:
 *   - bytes 0..15: the random salt (in place of "SQLite format 3\0");
 *   - each page ends with a reserve of 16 (IV) + 64 (HMAC) bytes;
 *   - the encryption key is the raw key (given as x'hex', no PBKDF2);
 *   - the HMAC key is PBKDF2-HMAC-SHA512(key, salt XOR 0x3a, 2 iterations, 32 bytes);
 *   - HMAC-SHA512 covers ciphertext || IV || page number (4 bytes little-endian).
 */
import { createDecipheriv, createHmac, pbkdf2Sync } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Database from 'better-sqlite3-multiple-ciphers';
import { describe, expect, it } from 'vitest';

import { useFreshDatabase } from './helpers.js';
import { generateDataKey } from '../../../src-main/store/keys/data-key.js';
import { migrate } from '../../../src-main/store/migrations.js';
import { openEncryptedDatabase, rawKeyLiteral } from '../../../src-main/store/sqlite.js';

const PAGE = 4096;
const RESERVE = 16 + 64;

describe('SQLCipher 4 file format', () => {
  const fresh = useFreshDatabase();

  it('page 1 decrypts and authenticates with the raw key per the SQLCipher 4 design', () => {
    const key = generateDataKey();
    const file = `${fresh.dir}/format.db`;
    const db = openEncryptedDatabase(file, key, { create: true });
    migrate(db);
    db.close(); // checkpoints the WAL into the main file
    const page = readFileSync(file).subarray(0, PAGE);

    const salt = page.subarray(0, 16);
    const ciphertext = page.subarray(16, PAGE - RESERVE);
    const iv = page.subarray(PAGE - RESERVE, PAGE - RESERVE + 16);
    const mac = page.subarray(PAGE - 64, PAGE);

    const hmacKey = pbkdf2Sync(key, Buffer.from(salt.map((b) => b ^ 0x3a)), 2, 32, 'sha512');
    const pageNumber = Buffer.alloc(4);
    pageNumber.writeUInt32LE(1);
    const expectedMac = createHmac('sha512', hmacKey).update(ciphertext).update(iv).update(pageNumber).digest();
    expect(expectedMac.equals(mac)).toBe(true);

    const decipher = createDecipheriv('aes-256-cbc', key, iv).setAutoPadding(false);
    const plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    // the rest of SQLite's 100-byte header, now readable: page size, WAL versions, reserved bytes
    expect(plain.readUInt16BE(0)).toBe(PAGE); // header offset 16
    expect([plain[2], plain[3]]).toEqual([2, 2]); // offsets 18-19: WAL mode
    expect(plain[4]).toBe(RESERVE); // offset 20: bytes reserved per page for IV + HMAC
    expect(plain.readUInt32BE(60 - 16)).toBeGreaterThan(0); // offset 60: user_version = schema version

    // and a wrong key fails the HMAC, as it should
    const wrongKey = pbkdf2Sync(generateDataKey(), Buffer.from(salt.map((b) => b ^ 0x3a)), 2, 32, 'sha512');
    expect(createHmac('sha512', wrongKey).update(ciphertext).update(iv).update(pageNumber).digest().equals(mac)).toBe(
      false,
    );
  });

  it('opens a file keyed the earlier way (PRAGMA key with the hex in a string): the Buffer-built key is the same key', () => {
    const key = generateDataKey();
    const file = `${fresh.dir}/pragma-keyed.db`;
    const old = new Database(file);
    old.pragma(`cipher='sqlcipher'`);
    old.pragma('legacy=4');
    old.pragma(`key="x'${key.toString('hex')}'"`);
    old.exec('CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (42);');
    old.close();
    const db = openEncryptedDatabase(file, key, { create: false });
    expect(db.prepare('SELECT x FROM t').pluck().get()).toBe(42);
    db.close();
    expect(rawKeyLiteral(Buffer.alloc(32, 0xab)).toString('ascii')).toBe(`x'${'ab'.repeat(32)}'`);
  });
});
