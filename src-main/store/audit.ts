/**
 * The append-only audit log: who (user, role) did what (action) to which objects (type, ids), when.
 * Tamper evidence, layer by layer:
 * - each entry carries an HMAC-SHA256 (audit-key.ts: a key only the data key opens) over its
 *   predecessor's MAC and its own fields, so changing, removing, reordering or recomputing any
 *   entry without the key breaks the chain;
 * - triggers in the schema refuse UPDATE and DELETE; verify() checks that they are still there;
 * - the newest MAC is kept in `meta` (audit_head), so cutting entries off the end is detected;
 * - the head is also checkpointed outside the database, in a MAC-signed file beside it
 *   (`audit-head.json`), written after each commit: rolling the whole database file back to an
 *   older copy, or truncating the tail and rewriting audit_head, leaves the log behind the file;
 * - when configured, each new head is also copied off the machine's store folder (syslog, the
 *   Windows Event Log, a file: audit-sink.ts), which catches both files put back together.
 *
 * Entries hold ids, counts and codes, never note text (details are for non-PHI facts only).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { nodeErrorCode } from '../common/errors.js';
import { replaceFileAtomically } from './atomic-file.js';
import { auditKeyOf, type AuditKey } from './audit-key.js';
import { headLine, readBackFile, readExternalHeads, sendHead } from './audit-sink.js';
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
  /** The OS login the entry was written under, beside the store user (null in entries before schema 5). */
  readonly osUser: string | null;
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly entries: number;
  readonly headSeq: number;
  /** The first entry whose link does not hold, and why (only when !ok). */
  readonly firstBadSeq?: number;
  readonly problem?: string;
  /** The newest head found in the copy off the store's folder (audit-sink.ts), when one was read. */
  readonly externalSeq?: number;
}

/** A stored row of `audit_log`, as SQLite returns it. */
export interface AuditRow {
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
  /** The OS login of the process that wrote the entry (schema 5; null before). */
  os_user: string | null;
}

/**
 * The link of one entry over the previous link and the stored column texts, in a fixed order:
 * an HMAC with the audit key, or a plain SHA-256 for entries written before the store had one.
 */
function entryLink(row: Omit<AuditRow, 'hash'>, key: AuditKey): string {
  const fields = [row.seq, row.at, row.username, row.role, row.action, row.object_type, row.object_ids, row.details];
  if (row.os_user !== null && row.os_user !== undefined) fields.push(row.os_user); // entries before schema 5 have none
  const digest = row.seq >= key.macFromSeq ? createHmac('sha256', key.macKey) : createHash('sha256');
  return digest.update(row.prev_hash).update('\n').update(JSON.stringify(fields)).digest('hex');
}

/** The two triggers that make the table append-only (migration 1); verify() insists on both. */
const APPEND_ONLY_TRIGGERS = [
  { name: 'audit_log_no_update', event: 'BEFORE UPDATE ON audit_log' },
  { name: 'audit_log_no_delete', event: 'BEFORE DELETE ON audit_log' },
] as const;

interface HeadCheckpoint {
  readonly format: 'clinprompt-audit-head';
  readonly seq: number;
  readonly hash: string;
  readonly at: string;
  readonly mac: string;
}

const checkpointMac = (key: AuditKey, seq: number, hash: string, at: string) =>
  createHmac('sha256', key.macKey).update(`clinprompt-audit-head-v1|${seq}|${hash}|${at}`).digest('hex');

function sameHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** The signed head file, or why it cannot be trusted. */
function readCheckpoint(file: string, key: AuditKey): HeadCheckpoint | 'missing' | 'forged' {
  let parsed: Partial<HeadCheckpoint>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<HeadCheckpoint>;
  } catch (error) {
    return nodeErrorCode(error) === 'ENOENT' ? 'missing' : 'forged';
  }
  const { seq, hash, at, mac } = parsed;
  if (
    parsed.format !== 'clinprompt-audit-head' ||
    typeof seq !== 'number' ||
    typeof hash !== 'string' ||
    typeof at !== 'string' ||
    typeof mac !== 'string' ||
    !sameHex(mac, checkpointMac(key, seq, hash, at))
  ) {
    return 'forged';
  }
  return parsed as HeadCheckpoint;
}

/** Replaces the head file atomically (temp file, fsync, rename), and sends the head to the configured sink. */
function writeCheckpoint(file: string, key: AuditKey, head: { seq: number; hash: string }): void {
  const at = new Date().toISOString();
  const checkpoint: HeadCheckpoint = {
    format: 'clinprompt-audit-head',
    ...head,
    at,
    mac: checkpointMac(key, head.seq, head.hash, at),
  };
  replaceFileAtomically(file, JSON.stringify(checkpoint) + '\n');
  const external = key.external;
  if (external?.config.sink && checkpoint.seq > 0) {
    sendHead(
      external.config.sink,
      headLine(external.storeId, { seq: checkpoint.seq, link: checkpoint.hash, at, mac: checkpoint.mac }),
    );
  }
}

/**
 * The heads copied off the store's folder that this store signed (others are ignored: see
 * audit-sink.ts), by entry number; undefined when no copy is configured or readable.
 */
function externalHeads(key: AuditKey): { file: string; heads: Map<number, string> } | undefined {
  const file = key.external && readBackFile(key.external.config);
  if (!key.external || file === undefined) return undefined;
  const lines = readExternalHeads(file, key.external.storeId);
  if (lines === 'unreadable') return undefined;
  const heads = new Map<number, string>();
  for (const line of lines) {
    if (sameHex(checkpointMac(key, line.seq, line.link, line.at), line.mac)) heads.set(line.seq, line.link);
  }
  return { file, heads };
}

function head(db: Db): { seq: number; hash: string } {
  const value = db.prepare(`SELECT value FROM meta WHERE key = 'audit_head'`).pluck().get() as string | undefined;
  if (value === undefined) return { seq: 0, hash: GENESIS_HASH };
  const [seq, hash] = value.split(':');
  return { seq: Number(seq), hash: hash ?? '' };
}

export class AuditLog {
  readonly #key: AuditKey;

  /** The log on a connection the store opened (its audit key is attached to it: audit-key.ts). */
  constructor(private readonly db: Db) {
    this.#key = auditKeyOf(db);
  }

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
        os_user: this.#key.osUser ?? null,
      };
      const hash = entryLink(row, this.#key);
      this.db
        .prepare(
          `INSERT INTO audit_log (seq, at, username, role, action, object_type, object_ids, details, prev_hash, hash, os_user)
           VALUES (@seq, @at, @username, @role, @action, @object_type, @object_ids, @details, @prev_hash, @hash, @os_user)`,
        )
        .run({ ...row, hash });
      this.db
        .prepare(
          `INSERT INTO meta (key, value) VALUES ('audit_head', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        )
        .run(`${row.seq}:${hash}`);
      return toEntry({ ...row, hash });
    };
    if (this.db.inTransaction) return write(); // the caller checkpoints after its commit
    const appended = whenBusy(() => this.db.transaction(write).immediate());
    this.checkpoint();
    return appended;
  }

  /**
   * Writes the committed head to the signed file beside the database. Called after every commit
   * that appended entries. It never moves the file backwards (another process may have written a
   * newer head), and never re-creates a file that should exist: a deleted or newer file is
   * evidence for verify(). The file is due from the first MACed entry on.
   */
  checkpoint(): void {
    const file = this.#key.headFile;
    if (file === undefined || this.db.inTransaction) return;
    const current = head(this.db);
    const existing = readCheckpoint(file, this.#key);
    if (existing === 'forged') return;
    if (existing === 'missing' ? current.seq > this.#key.macFromSeq : existing.seq >= current.seq) return;
    writeCheckpoint(file, this.#key, current);
  }

  /** The first checkpoint of a store placed in a new folder (a restored backup): none can exist there yet. */
  startCheckpoints(): void {
    if (this.#key.headFile !== undefined) writeCheckpoint(this.#key.headFile, this.#key, head(this.db));
  }

  /** Newest first, at most `limit` entries. */
  recent(limit = 50): AuditEntry[] {
    const rows = this.db.prepare('SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?').all(limit) as AuditRow[];
    return rows.map(toEntry);
  }

  /**
   * Recomputes the whole chain from the first entry, and checks that the log is not empty while
   * the store has users, that the append-only triggers exist, that the recorded head is the last
   * entry, and that the log is not behind (nor different from) the signed head file.
   */
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
    const checkpoint = this.#key.headFile === undefined ? undefined : readCheckpoint(this.#key.headFile, this.#key);
    let checkpointedLink: string | undefined;
    const external = externalHeads(this.#key);
    let externalMismatch: number | undefined;
    for (const row of this.db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as IterableIterator<AuditRow>) {
      if (row.seq !== expectedSeq) return fail(expectedSeq, `entry ${expectedSeq} is missing`);
      if (row.prev_hash !== expectedPrev)
        return fail(row.seq, `entry ${row.seq} does not link to entry ${row.seq - 1}`);
      if (!sameHex(entryLink(row, this.#key), row.hash))
        return fail(row.seq, `entry ${row.seq} was altered after it was written`);
      expectedPrev = row.hash;
      expectedSeq += 1;
      entries += 1;
      if (typeof checkpoint === 'object' && row.seq === checkpoint.seq) checkpointedLink = row.hash;
      const copied = external?.heads.get(row.seq);
      if (copied !== undefined && copied !== row.hash) externalMismatch ??= row.seq;
    }
    const triggers = this.db
      .prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'`)
      .all() as { name: string; sql: string }[];
    for (const expected of APPEND_ONLY_TRIGGERS) {
      const found = triggers.find((t) => t.name === expected.name)?.sql.replace(/\s+/g, ' ') ?? '';
      if (!found.includes(expected.event) || !found.includes("RAISE(ABORT, 'audit_log is append-only')")) {
        return fail(entries + 1, `the append-only trigger ${expected.name} was dropped or changed`);
      }
    }
    const users = this.db.prepare('SELECT count(*) FROM users').pluck().get() as number;
    if (entries === 0 && users > 0) {
      return fail(1, `the log is empty although the store has ${users} users: its entries were deleted`);
    }
    const recorded = head(this.db);
    if (recorded.seq !== entries || recorded.hash !== expectedPrev) {
      return fail(
        entries + 1,
        `the log ends at entry ${entries} but its recorded head is entry ${recorded.seq}: entries were removed from the end`,
      );
    }
    if (checkpoint === 'missing' && entries >= this.#key.macFromSeq) {
      return fail(entries + 1, 'the head checkpoint file beside the database is missing');
    }
    if (checkpoint === 'forged') {
      return fail(entries + 1, 'the head checkpoint file beside the database is not signed by this store');
    }
    if (typeof checkpoint === 'object' && checkpoint.seq > entries) {
      return fail(
        entries + 1,
        `the log ends at entry ${entries} but the checkpoint outside the database records entry ${checkpoint.seq}: ` +
          'entries were removed from the end, or the database was rolled back to an older copy',
      );
    }
    if (typeof checkpoint === 'object' && checkpoint.seq > 0 && checkpointedLink !== checkpoint.hash) {
      return fail(checkpoint.seq, `entry ${checkpoint.seq} differs from the one checkpointed outside the database`);
    }
    if (external) {
      const newest = Math.max(0, ...external.heads.keys());
      if (newest > entries) {
        return fail(
          entries + 1,
          `the log ends at entry ${entries} but its copy in ${external.file} records entry ${newest}: ` +
            'the database and its head file were rolled back to older copies, or entries were removed from the end',
        );
      }
      if (externalMismatch !== undefined) {
        return fail(externalMismatch, `entry ${externalMismatch} differs from its copy in ${external.file}`);
      }
      return { ok: true, entries, headSeq: recorded.seq, externalSeq: newest };
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
    osUser: row.os_user ?? null,
  };
}
