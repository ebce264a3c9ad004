/**
 * One person working with the store: their role decides what they may do, and everything they do
 * through `perform` is checked, done and audited in one transaction (the action and its audit
 * entry commit together or not at all). A refused action is audited too.
 */
import { UserError } from '../common/errors.js';
import { assertWritable, asyncTransaction } from './async-transaction.js';
import { AuditLog, type AuditDetails } from './audit.js';
import { roleAllows, type Permission } from './permissions.js';
import type { User } from './repositories/users.js';
import { whenBusy, type Db } from './sqlite.js';

export interface ActionRecord {
  readonly objectType?: string;
  readonly objectIds?: readonly (string | number)[];
  readonly details?: AuditDetails;
}

export class StoreSession {
  constructor(
    readonly user: User,
    private readonly db: () => Db,
    private readonly onActivity: () => void = () => undefined,
  ) {}

  can(permission: Permission): boolean {
    return !this.user.disabled && roleAllows(this.user.role, permission);
  }

  /** Throws PERMISSION_DENIED (and audits the refusal) unless the user's role allows `permission`. */
  require(permission: Permission, action: string = permission): void {
    if (this.can(permission)) return;
    const db = this.db();
    assertWritable(db);
    new AuditLog(db).append({
      username: this.user.username,
      role: this.user.role,
      action: 'permission.denied',
      details: { attempted: action, permission },
    });
    throw new UserError(
      'PERMISSION_DENIED',
      this.user.disabled
        ? `User "${this.user.username}" is disabled. Ask an informatics-admin to re-enable the account.`
        : `User "${this.user.username}" (role ${this.user.role}) may not ${action} (needs ${permission}). ` +
            'Ask an informatics-admin to change your role.',
    );
  }

  /**
   * Checks `permission`, runs `work` and appends the audit entry `describe` makes of its result,
   * all in one IMMEDIATE transaction.
   */
  perform<T>(
    permission: Permission,
    action: string,
    work: (db: Db) => T,
    describe: (result: T) => ActionRecord = () => ({}),
  ): T {
    this.require(permission, action);
    this.onActivity();
    const db = this.db();
    assertWritable(db);
    const log = new AuditLog(db);
    const result = whenBusy(() =>
      db
        .transaction(() => {
          const done = work(db);
          log.append({ username: this.user.username, role: this.user.role, action, ...describe(done) });
          return done;
        })
        .immediate(),
    );
    log.checkpoint();
    return result;
  }

  /**
   * `perform` for async work (a streaming import): one IMMEDIATE transaction stays open across the
   * work's awaits (store/async-transaction.ts) and takes the audit entry before it commits; any
   * error or cancellation rolls everything back. Other writers on the connection get LOCKED meanwhile.
   */
  async performAsync<T>(
    permission: Permission,
    action: string,
    work: (db: Db) => Promise<T>,
    describe: (result: T) => ActionRecord = () => ({}),
  ): Promise<T> {
    this.require(permission, action);
    this.onActivity();
    const db = this.db();
    const log = new AuditLog(db);
    const result = await asyncTransaction(db, async () => {
      const done = await work(db);
      log.append({ username: this.user.username, role: this.user.role, action, ...describe(done) });
      return done;
    });
    log.checkpoint();
    return result;
  }

  /** Audits something that happened outside the database (a backup file written, a pack exported). */
  record(permission: Permission, action: string, record: ActionRecord = {}): void {
    this.perform(
      permission,
      action,
      () => undefined,
      () => record,
    );
  }
}
