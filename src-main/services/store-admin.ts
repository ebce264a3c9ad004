/**
 * The store's administration use cases, behind `clinprompt store|users|audit` (and any later UI):
 * each checks the acting person's permission, does the work and audits it through the session.
 * Front ends only parse arguments and render results.
 */
import { UserError } from '../common/errors.js';
import type { AuditEntry, AuditVerification } from '../store/audit.js';
import type { WrapMethods } from '../store/keys/keyring.js';
import { checkNewPassphrase } from '../store/keys/passphrase.js';
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

/** Adds a user with their first credential (a passphrase the admin hands over; they change it with `users passphrase`). */
export async function addUser(
  store: Store,
  session: StoreSession,
  request: { username: string; role: string; displayName?: string },
  credential: WrapMethods,
): Promise<User> {
  checkCredential(session, request.username, credential);
  const user = session.perform(
    'users.manage',
    'users.add',
    (db) => new UsersRepository(db).add(request.username, request.role, request.displayName),
    auditUser,
  );
  await store.setCredential(user.username, credential, session);
  return user;
}

export function setUserRole(session: StoreSession, username: string, role: string): User {
  return session.perform(
    'users.manage',
    'users.role',
    (db) => new UsersRepository(db).setRole(username, role),
    auditUser,
  );
}

/** Disabling revokes every credential of the user; enabling needs a new one. */
export async function setUserDisabled(
  store: Store,
  session: StoreSession,
  username: string,
  disabled: boolean,
  credential?: WrapMethods,
): Promise<User> {
  if (!disabled) {
    if (!credential) throw new UserError('INVALID_ARGUMENT', `Enabling ${username} needs a new credential for them.`);
    checkCredential(session, username, credential);
  }
  const user = session.perform(
    'users.manage',
    disabled ? 'users.disable' : 'users.enable',
    (db) => new UsersRepository(db).setDisabled(username, disabled),
    auditUser,
  );
  if (disabled) await store.revokeCredentials(username, session);
  else if (credential) await store.setCredential(username, credential, session);
  return user;
}

/** A new credential for `username`: anyone for themselves, an informatics-admin for anyone. */
export async function setUserCredential(
  store: Store,
  session: StoreSession,
  username: string,
  credential: WrapMethods,
): Promise<{ username: string; protections: string[] }> {
  checkCredential(session, username, credential);
  const slot = await store.setCredential(username, credential, session);
  return { username, protections: slot.wrappers.filter((w) => w.user === username).map((w) => w.kind) };
}

/** Checked before anything is written: a passphrase long enough; a keychain entry only in one's own OS account. */
function checkCredential(session: StoreSession, username: string, credential: WrapMethods): void {
  if (credential.passphrase !== undefined) checkNewPassphrase(credential.passphrase);
  if ((credential.keychain || credential.safeStorage) && username !== session.user.username) {
    throw new UserError(
      'INVALID_ARGUMENT',
      `A keychain entry can only be made by ${username} themselves, in their own OS account; give them a passphrase.`,
    );
  }
}

const auditUser = (u: User) => ({
  objectType: 'user',
  objectIds: [u.id],
  details: { username: u.username, role: u.role },
});
