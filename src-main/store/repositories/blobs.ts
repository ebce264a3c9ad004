/**
 * Large binary values (prompt tensors, checkpoints, evaluation outputs), never on disk in the clear.
 * Small ones live inside the encrypted database; larger ones are files in the store's blobs/
 * folder, each sealed with its own random key (sealed-file.ts). That key is kept in the blob's row,
 * i.e. inside the encrypted database, so rotating the data key re-protects every blob file without
 * rewriting it (envelope encryption), and a backup of the database carries the keys of its files.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

import { UserError } from '../../common/errors.js';
import { DATA_KEY_BYTES } from '../keys/data-key.js';
import { readSealedFile, writeSealedFile } from '../sealed-file.js';
import type { Db } from '../sqlite.js';
import { nowIso } from './rows.js';

/** Up to this size a blob is stored inside the database. */
export const INLINE_BLOB_LIMIT = 256 * 1024;

export interface BlobInfo {
  readonly id: string;
  readonly kind: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly inline: boolean;
  readonly createdAt: string;
}

interface BlobRow {
  id: string;
  kind: string;
  bytes: number;
  sha256: string;
  inline_data: Buffer | null;
  file_key: Buffer | null;
  created_at: string;
}

export class BlobStore {
  constructor(
    private readonly db: Db,
    readonly dir: string,
  ) {}

  /** Stores `data` encrypted; returns its id. */
  put(kind: string, data: Buffer): BlobInfo {
    const id = randomBytes(16).toString('hex');
    const sha256 = createHash('sha256').update(data).digest('hex');
    const insert = this.db.prepare(
      `INSERT INTO blobs (id, kind, bytes, sha256, inline_data, file_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    if (data.length <= INLINE_BLOB_LIMIT) {
      insert.run(id, kind, data.length, sha256, data, null, nowIso());
      return this.info(id);
    }
    const fileKey = randomBytes(DATA_KEY_BYTES);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = this.fileFor(id);
    const temp = `${file}.tmp`;
    try {
      writeSealedFile(temp, fileKey, `blob:${id}`, data);
      renameSync(temp, file);
      insert.run(id, kind, data.length, sha256, null, fileKey, nowIso());
    } catch (error) {
      rmSync(temp, { force: true });
      rmSync(file, { force: true });
      throw error;
    } finally {
      fileKey.fill(0);
    }
    return this.info(id);
  }

  get(id: string): Buffer {
    const row = this.#row(id);
    const data = row.inline_data ?? readSealedFile(this.fileFor(id), row.file_key as Buffer, `blob:${id}`, row.bytes);
    if (createHash('sha256').update(data).digest('hex') !== row.sha256) {
      throw new UserError('BAD_FILE', `Blob ${id} does not match its checksum; restore the store from a backup.`);
    }
    return data;
  }

  info(id: string): BlobInfo {
    const row = this.#row(id);
    return {
      id: row.id,
      kind: row.kind,
      bytes: row.bytes,
      sha256: row.sha256,
      inline: row.inline_data !== null,
      createdAt: row.created_at,
    };
  }

  /** Ids of the blobs kept as files (backup copies these). */
  fileBlobIds(): string[] {
    return this.db.prepare('SELECT id FROM blobs WHERE file_key IS NOT NULL ORDER BY id').pluck().all() as string[];
  }

  delete(id: string): void {
    const row = this.#row(id);
    this.db.prepare('DELETE FROM blobs WHERE id = ?').run(id);
    if (row.file_key) rmSync(this.fileFor(id), { force: true });
  }

  /**
   * Removes blob files that no row refers to: left behind when the transaction that stored them
   * rolled back (their key went with the row, so they are unreadable noise). Only files older than
   * `minAgeMs` go, so a put in progress in another process is never touched.
   */
  sweepOrphans(minAgeMs = 60 * 60 * 1000): number {
    if (!existsSync(this.dir)) return 0;
    const known = new Set(this.fileBlobIds());
    let removed = 0;
    for (const name of readdirSync(this.dir)) {
      const id = name.replace(/\.blob(\.tmp)?$/, '');
      const file = path.join(this.dir, name);
      if (id === name || (known.has(id) && name.endsWith('.blob'))) continue;
      if (Date.now() - statSync(file).mtimeMs < minAgeMs) continue;
      rmSync(file, { force: true });
      removed += 1;
    }
    return removed;
  }

  fileFor(id: string): string {
    return path.join(this.dir, `${id}.blob`);
  }

  #row(id: string): BlobRow {
    const row = this.db.prepare('SELECT * FROM blobs WHERE id = ?').get(id) as BlobRow | undefined;
    if (!row) throw new UserError('NOT_FOUND', `No blob ${id} in the store.`);
    return row;
  }
}
