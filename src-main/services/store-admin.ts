/**
 * The store's administration use cases, behind `clinprompt store|users|audit` (and any later UI):
 * each checks the acting person's permission, does the work and audits it through the session.
 * Front ends only parse arguments and render results.
 */
import type { AuditEntry, AuditVerification } from '../store/audit.js';
import { UsersRepository, type User } from '../store/repositories/users.js';
import type { StoreSession } from '../store/session.js';
import { integrityCheck } from '../store/sqlite.js';
import type { Store } from '../store/store.js';

export interface StoreCheck {
  /** True when SQLite's integrity and foreign-key checks and the audit verification all pass. */
  readonly ok: boolean;
  /** `PRAGMA integrity_check`: ['ok'] or SQLite's list of problems (page and index numbers, no note text). */
  readonly integrity: readonly string[];
  /** Rows whose foreign key points nowhere (`PRAGMA foreign_key_check`), by table. */
  readonly foreignKeyViolations: Readonly<Record<string, number>>;
  readonly audit: AuditVerification;
}

/** SQLite's integrity and foreign-key checks and the audit verification, in one read-only pass, then audited. */
export function checkStore(store: Store, session: StoreSession): StoreCheck {
  session.require('store.admin', 'check the store');
  const db = store.db;
  const integrity = integrityCheck(db);
  const foreignKeyViolations: Record<string, number> = {};
  for (const row of db.pragma('foreign_key_check') as { table: string }[]) {
    foreignKeyViolations[row.table] = (foreignKeyViolations[row.table] ?? 0) + 1;
  }
  const audit = store.audit.verify();
  const ok = integrity.join() === 'ok' && Object.keys(foreignKeyViolations).length === 0 && audit.ok;
  session.record('store.admin', 'store.check', {
    details: { ok, integrityOk: integrity.join() === 'ok', auditOk: audit.ok, auditEntries: audit.entries },
  });
  return { ok, integrity, foreignKeyViolations, audit };
}

export function verifyAuditLog(store: Store, session: StoreSession): AuditVerification {
  session.require('audit.read', 'verify the audit log');
  const result = store.audit.verify();
  session.record('audit.read', 'audit.verify', { details: { ok: result.ok, entries: result.entries } });
  return result;
}

export function recentAuditEntries(store: Store, session: StoreSession, limit: number): AuditEntry[] {
  session.require('audit.read', 'read the audit log');
  return store.audit.recent(limit);
}

export function listUsers(store: Store, session: StoreSession): User[] {
  session.require('users.manage', 'list users');
  return store.users.list();
}

export function addUser(
  session: StoreSession,
  request: { username: string; role: string; displayName?: string },
): User {
  return session.perform(
    'users.manage',
    'users.add',
    (db) => new UsersRepository(db).add(request.username, request.role, request.displayName),
    auditUser,
  );
}

export function setUserRole(session: StoreSession, username: string, role: string): User {
  return session.perform(
    'users.manage',
    'users.role',
    (db) => new UsersRepository(db).setRole(username, role),
    auditUser,
  );
}

export function setUserDisabled(session: StoreSession, username: string, disabled: boolean): User {
  return session.perform(
    'users.manage',
    disabled ? 'users.disable' : 'users.enable',
    (db) => new UsersRepository(db).setDisabled(username, disabled),
    auditUser,
  );
}

const auditUser = (u: User) => ({
  objectType: 'user',
  objectIds: [u.id],
  details: { username: u.username, role: u.role },
});
