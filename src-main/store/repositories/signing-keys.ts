/**
 * Pack signing keys (Ed25519): the workstation's own key pair, whose private half is an encrypted
 * blob, and the public keys of other workstations and sites that an informatics-admin trusts.
 * A removed key stays as a row (trusted = 0) so the history of who trusted what remains readable.
 */
import { UserError } from '../../common/errors.js';
import type { Db } from '../sqlite.js';
import type { BlobStore } from './blobs.js';
import { nowIso } from './rows.js';

export interface SigningKey {
  readonly keyId: string;
  /** SPKI DER, base64. */
  readonly publicKey: string;
  readonly label: string;
  /** This workstation's own key (its private half is in the store). */
  readonly own: boolean;
  readonly trusted: boolean;
  readonly addedAt: string;
  readonly addedBy: string;
  readonly removedAt: string | null;
}

interface KeyRow {
  key_id: string;
  public_key: string;
  label: string;
  own: number;
  private_blob_id: string | null;
  trusted: number;
  added_at: string;
  added_by: string;
  removed_at: string | null;
}

export class SigningKeysRepository {
  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
  ) {}

  list(): SigningKey[] {
    return (this.db.prepare('SELECT * FROM signing_keys ORDER BY id').all() as KeyRow[]).map(toKey);
  }

  /** The keys whose signatures are accepted now: keyId -> public key (SPKI DER, base64). */
  trusted(): Map<string, string> {
    return new Map(
      this.list()
        .filter((k) => k.trusted)
        .map((k) => [k.keyId, k.publicKey]),
    );
  }

  /** The workstation's own key pair, if one was made (private half: PKCS#8 DER). */
  own(): { keyId: string; publicKey: string; privateKey: Buffer } | undefined {
    const row = this.db.prepare('SELECT * FROM signing_keys WHERE own = 1').get() as KeyRow | undefined;
    if (!row?.private_blob_id) return undefined;
    return { keyId: row.key_id, publicKey: row.public_key, privateKey: this.blobs.get(row.private_blob_id) };
  }

  addOwn(keyId: string, publicKey: string, privateKey: Buffer, by: string): SigningKey {
    const blob = this.blobs.put('signing-key', privateKey);
    this.db
      .prepare(
        `INSERT INTO signing_keys (key_id, public_key, label, own, private_blob_id, trusted, added_at, added_by)
         VALUES (?, ?, 'this workstation', 1, ?, 1, ?, ?)`,
      )
      .run(keyId, publicKey, blob.id, nowIso(), by);
    return this.get(keyId);
  }

  /** Trusts a public key (again, if it was removed). */
  trust(keyId: string, publicKey: string, label: string, by: string): SigningKey {
    const existing = this.find(keyId);
    if (existing?.trusted)
      throw new UserError('ALREADY_EXISTS', `Key ${keyId} is already trusted (${existing.label}).`, { field: 'key' });
    if (existing)
      this.db
        .prepare(
          'UPDATE signing_keys SET trusted = 1, label = ?, added_at = ?, added_by = ?, removed_at = NULL, removed_by = NULL WHERE key_id = ?',
        )
        .run(label, nowIso(), by, keyId);
    else
      this.db
        .prepare(
          `INSERT INTO signing_keys (key_id, public_key, label, own, trusted, added_at, added_by) VALUES (?, ?, ?, 0, 1, ?, ?)`,
        )
        .run(keyId, publicKey, label, nowIso(), by);
    return this.get(keyId);
  }

  remove(keyId: string, by: string): SigningKey {
    const key = this.find(keyId);
    if (!key?.trusted) throw new UserError('NOT_FOUND', `No trusted key ${keyId}.`, { field: 'key' });
    if (key.own)
      throw new UserError('INVALID_ARGUMENT', `Key ${keyId} is this workstation's own signing key; it stays trusted.`, {
        field: 'key',
      });
    this.db
      .prepare('UPDATE signing_keys SET trusted = 0, removed_at = ?, removed_by = ? WHERE key_id = ?')
      .run(nowIso(), by, keyId);
    return this.get(keyId);
  }

  find(keyId: string): SigningKey | undefined {
    const row = this.db.prepare('SELECT * FROM signing_keys WHERE key_id = ?').get(keyId) as KeyRow | undefined;
    return row && toKey(row);
  }

  private get(keyId: string): SigningKey {
    return this.find(keyId)!;
  }
}

function toKey(row: KeyRow): SigningKey {
  return {
    keyId: row.key_id,
    publicKey: row.public_key,
    label: row.label,
    own: row.own === 1,
    trusted: row.trusted === 1,
    addedAt: row.added_at,
    addedBy: row.added_by,
    removedAt: row.removed_at,
  };
}
