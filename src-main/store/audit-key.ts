/**
 * The audit log's MAC key: 256 random bits, kept in the database's `meta` table sealed
 * (AES-256-GCM) under a key derived from the data key with HKDF-SHA256. So only someone who holds
 * the data key can compute an entry's MAC: a chain recomputed with plain SHA-256, or by anyone
 * who can write rows but does not hold the key, fails verification.
 *
 * Sealed rather than derived directly, so that the key survives a data-key rotation: before the
 * database is re-encrypted, the same MAC key is sealed under the new data key as `audit_key_next`;
 * whichever key opens the database opens one of the two (store.ts's crash-safe rotation), and the
 * next open promotes `audit_key_next`. The sealed payload also records from which entry on the log
 * is MACed (stores created before the MAC have SHA-256-chained entries before that point).
 *
 * The key is attached to the connection the store opened (`attachAuditKey`), so every AuditLog on
 * that connection MACs with it, and the head checkpoint file is written beside the database.
 */
import { hkdfSync, randomBytes } from 'node:crypto';

import { UserError } from '../common/errors.js';
import { open, seal, type Sealed } from './keys/aead.js';
import type { AuditSinkConfig } from './audit-sink.js';
import { whenBusy, type Db } from './sqlite.js';

const WRAP_INFO = 'clinprompt audit key wrap v1';
const AAD = 'clinprompt-audit-key-v1';
const CURRENT = 'audit_key';
const NEXT = 'audit_key_next';

export interface AuditKey {
  /** The HMAC-SHA256 key of the entries. */
  readonly macKey: Buffer;
  /** Entries from this seq on carry a MAC; earlier ones (an upgraded store) a plain SHA-256 link. */
  readonly macFromSeq: number;
  /** The signed head checkpoint beside the database (absent for a bare connection, e.g. in tests). */
  readonly headFile?: string;
  /** The OS login of the process that holds the connection, recorded beside the store user. */
  readonly osUser?: string;
  /** Where the head is also copied off the store's folder, and read back from (audit-sink.ts). */
  readonly external?: { readonly storeId: string; readonly config: AuditSinkConfig };
}

const attached = new WeakMap<Db, AuditKey>();

/** The audit key attached to `db`; INTERNAL error when the connection was not opened by a store. */
export function auditKeyOf(db: Db): AuditKey {
  const key = attached.get(db);
  if (!key) throw new Error('this connection has no audit key attached (open it through the store)');
  return key;
}

export function attachAuditKey(db: Db, key: AuditKey): void {
  attached.set(db, key);
}

/** Wipes and forgets the key of a connection being closed. */
export function detachAuditKey(db: Db | undefined): void {
  if (!db) return;
  attached.get(db)?.macKey.fill(0);
  attached.delete(db);
}

function wrappingKey(dataKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), WRAP_INFO, 32));
}

function sealFor(dataKey: Buffer, macKey: Buffer, macFromSeq: number): string {
  const payload = Buffer.alloc(40);
  macKey.copy(payload, 0);
  payload.writeBigUInt64BE(BigInt(macFromSeq), 32);
  const kek = wrappingKey(dataKey);
  try {
    return JSON.stringify(seal(kek, payload, AAD));
  } finally {
    kek.fill(0);
    payload.fill(0);
  }
}

function openWith(dataKey: Buffer, value: string): { macKey: Buffer; macFromSeq: number } | undefined {
  const kek = wrappingKey(dataKey);
  try {
    const payload = open(kek, JSON.parse(value) as Sealed, AAD);
    if (!payload || payload.length !== 40) return undefined;
    const result = { macKey: Buffer.from(payload.subarray(0, 32)), macFromSeq: Number(payload.readBigUInt64BE(32)) };
    payload.fill(0);
    return result;
  } catch {
    return undefined;
  } finally {
    kek.fill(0);
  }
}

const readMeta = (db: Db, name: string) =>
  db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(name) as string | undefined;
const writeMeta = (db: Db, name: string, value: string) =>
  db
    .prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
    .run(name, value);

/**
 * Opens the audit key with the data key, promoting one left by a rotation, or creates it on a
 * store that has none yet (new, or from before the MAC: its existing entries stay SHA-256-chained).
 */
export function openAuditKey(db: Db, dataKey: Buffer): { macKey: Buffer; macFromSeq: number } {
  const current = readMeta(db, CURRENT);
  const opened = current === undefined ? undefined : openWith(dataKey, current);
  if (opened) return opened;
  const next = readMeta(db, NEXT);
  const rotated = next === undefined ? undefined : openWith(dataKey, next);
  if (rotated) {
    whenBusy(() =>
      db
        .transaction(() => {
          writeMeta(db, CURRENT, next as string);
          db.prepare('DELETE FROM meta WHERE key = ?').run(NEXT);
        })
        .immediate(),
    );
    return rotated;
  }
  if (current !== undefined) {
    throw new UserError(
      'BAD_FILE',
      "The audit log's key does not open with this store's key: the database was altered. " +
        'Restore the store from a backup and tell your security officer.',
    );
  }
  return whenBusy(() =>
    db
      .transaction(() => {
        const entries = db.prepare('SELECT count(*) FROM audit_log').pluck().get() as number;
        const created = { macKey: randomBytes(32), macFromSeq: entries + 1 };
        writeMeta(db, CURRENT, sealFor(dataKey, created.macKey, created.macFromSeq));
        return created;
      })
      .immediate(),
  );
}

/** Before a data-key rotation: seals the same audit key under the new data key too. */
export function prepareAuditKeyRotation(db: Db, newDataKey: Buffer): void {
  const { macKey, macFromSeq } = auditKeyOf(db);
  writeMeta(db, NEXT, sealFor(newDataKey, macKey, macFromSeq));
}

/** After the database was re-encrypted with the new key: the new sealing becomes the current one. */
export function finishAuditKeyRotation(db: Db, newDataKey: Buffer): void {
  openAuditKey(db, newDataKey).macKey.fill(0); // the connection keeps its own copy
}
