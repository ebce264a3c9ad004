/**
 * The append-only audit log: who (user, role) did what (action) to which objects (type, ids), when.
 * Each entry carries the SHA-256 of its predecessor's hash and its own fields, so changing,
 * removing or reordering any entry breaks every later link; the newest hash is also kept in `meta`
 * (audit_head), so cutting entries off the end is detected too. Triggers in the schema refuse
 * UPDATE and DELETE on the table; the chain catches whoever drops the triggers first.
 *
 * Entries hold ids, counts and codes, never note text (details are for non-PHI facts only).
 */
import { createHash } from 'node:crypto';

import { whenBusy, type Db } from './sqlite.js';

export const GENESIS_HASH = '0'.repeat(64);

export type AuditDetails = Readonly<Record<string, string | number | boolean | null>>;

export interface NewAuditEntry {
  readonly username: string;
  readonly role: string;
  readonly action: string;
  readonly objectType?: string;
  readonly objectIds?: readonly (string | number)[];
  readonly details?: AuditDetails;
}

export interface AuditEntry {
  readonly seq: number;
  readonly at: string;
  readonly username: string;
  readonly role: string;
  readonly action: string;
  readonly objectType: string | null;
  readonly objectIds: readonly string[];
  readonly details: AuditDetails;
  readonly hash: string;
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly entries: number;
  readonly headSeq: number;
  /** The first entry whose link does not hold, and why (only when !ok). */
  readonly firstBadSeq?: number;
  readonly problem?: string;
}

interface AuditRow {
  seq: number;
  at: string;
  username: string;
  role: string;
  action: string;
  object_type: string | null;
  object_ids: string;
  details: string;
  prev_hash: string;
  hash: string;
}

/** The hash of one entry: over the previous hash and the stored column texts, in a fixed order. */
function entryHash(row: Omit<AuditRow, 'hash'>): string {
  const fields = [row.seq, row.at, row.username, row.role, row.action, row.object_type, row.object_ids, row.details];
  return createHash('sha256').update(row.prev_hash).update('\n').update(JSON.stringify(fields)).digest('hex');
}

function head(db: Db): { seq: number; hash: string } {
  const value = db.prepare(`SELECT value FROM meta WHERE key = 'audit_head'`).pluck().get() as string | undefined;
  if (value === undefined) return { seq: 0, hash: GENESIS_HASH };
  const [seq, hash] = value.split(':');
  return { seq: Number(seq), hash: hash ?? '' };
}

export class AuditLog {
  constructor(private readonly db: Db) {}

  /** Appends one entry (inside the caller's transaction, or its own IMMEDIATE one). */
  append(entry: NewAuditEntry): AuditEntry {
    const write = (): AuditEntry => {
      const previous = head(this.db);
      const row: Omit<AuditRow, 'hash'> = {
        seq: previous.seq + 1,
        at: new Date().toISOString(),
        username: entry.username,
        role: entry.role,
        action: entry.action,
        object_type: entry.objectType ?? null,
        object_ids: JSON.stringify((entry.objectIds ?? []).map(String)),
        details: JSON.stringify(entry.details ?? {}),
        prev_hash: previous.hash,
      };
      const hash = entryHash(row);
      this.db
        .prepare(
          `INSERT INTO audit_log (seq, at, username, role, action, object_type, object_ids, details, prev_hash, hash)
           VALUES (@seq, @at, @username, @role, @action, @object_type, @object_ids, @details, @prev_hash, @hash)`,
        )
        .run({ ...row, hash });
      this.db
        .prepare(
          `INSERT INTO meta (key, value) VALUES ('audit_head', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        )
        .run(`${row.seq}:${hash}`);
      return toEntry({ ...row, hash });
    };
    return this.db.inTransaction ? write() : whenBusy(() => this.db.transaction(write).immediate());
  }

  /** Newest first, at most `limit` entries. */
  recent(limit = 50): AuditEntry[] {
    const rows = this.db.prepare('SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?').all(limit) as AuditRow[];
    return rows.map(toEntry);
  }

  /** Recomputes the whole chain and compares it with the stored hashes and the head. */
  verify(): AuditVerification {
    let expectedPrev = GENESIS_HASH;
    let expectedSeq = 1;
    let entries = 0;
    const fail = (seq: number, problem: string): AuditVerification => ({
      ok: false,
      entries,
      headSeq: head(this.db).seq,
      firstBadSeq: seq,
      problem,
    });
    for (const row of this.db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as IterableIterator<AuditRow>) {
      if (row.seq !== expectedSeq) return fail(expectedSeq, `entry ${expectedSeq} is missing`);
      if (row.prev_hash !== expectedPrev)
        return fail(row.seq, `entry ${row.seq} does not link to entry ${row.seq - 1}`);
      if (entryHash(row) !== row.hash) return fail(row.seq, `entry ${row.seq} was altered after it was written`);
      expectedPrev = row.hash;
      expectedSeq += 1;
      entries += 1;
    }
    const recorded = head(this.db);
    if (recorded.seq !== entries || recorded.hash !== expectedPrev) {
      return fail(
        entries + 1,
        `the log ends at entry ${entries} but its recorded head is entry ${recorded.seq}: entries were removed from the end`,
      );
    }
    return { ok: true, entries, headSeq: recorded.seq };
  }
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    at: row.at,
    username: row.username,
    role: row.role,
    action: row.action,
    objectType: row.object_type,
    objectIds: JSON.parse(row.object_ids) as string[],
    details: JSON.parse(row.details) as AuditDetails,
    hash: row.hash,
  };
}
