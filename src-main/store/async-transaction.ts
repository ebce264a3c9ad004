/**
 * One write transaction that stays open across `await`s (a streaming import), on the shared
 * connection. better-sqlite3 transactions are synchronous; this opens BEGIN IMMEDIATE, runs async
 * work, and COMMITs at the end or ROLLBACKs on any error or cancellation.
 *
 * While it is open, every other write on the same connection would silently join it (and vanish
 * with a rollback). So the connection is marked as owned: code running inside the transaction's
 * own async context (AsyncLocalStorage) may write, and everyone else who checks the gate
 * (`assertWritable`, called by StoreSession.perform/require) gets a clear LOCKED error instead.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

import { UserError } from '../common/errors.js';
import { whenBusy, type Db } from './sqlite.js';

const owners = new WeakMap<Db, object>();
const context = new AsyncLocalStorage<ReadonlySet<object>>();

function insideOwner(owner: object): boolean {
  return context.getStore()?.has(owner) ?? false;
}

function busy(): UserError {
  return new UserError(
    'LOCKED',
    'A dataset import is writing to the store. Wait for it to finish (or cancel it), then try again.',
  );
}

/** Throws LOCKED when an async transaction that the caller is not part of holds `db`. */
export function assertWritable(db: Db): void {
  const owner = owners.get(db);
  if (owner !== undefined && !insideOwner(owner)) throw busy();
}

/** True when no async transaction holds `db`, or the caller runs inside the one that does. */
export function insideOrNone(db: Db): boolean {
  const owner = owners.get(db);
  return owner === undefined || insideOwner(owner);
}

/** True while an async transaction holds `db`. */
export function asyncTransactionOpen(db: Db): boolean {
  return owners.has(db);
}

/**
 * Runs `work` inside one IMMEDIATE transaction on `db`; nested calls from inside `work` join it.
 * Commits when `work` resolves, rolls back when it throws (the error is rethrown).
 */
export async function asyncTransaction<T>(db: Db, work: () => Promise<T>): Promise<T> {
  const owner = owners.get(db);
  if (owner !== undefined) {
    if (insideOwner(owner)) return work();
    throw busy();
  }
  if (db.inTransaction) {
    throw new Error('asyncTransaction cannot start inside a synchronous transaction on the same connection');
  }
  const token = {};
  whenBusy(() => db.exec('BEGIN IMMEDIATE'));
  owners.set(db, token);
  try {
    const result = await context.run(new Set([...(context.getStore() ?? []), token]), work);
    db.exec('COMMIT');
    return result;
  } catch (error) {
    if (db.open && db.inTransaction) db.exec('ROLLBACK');
    throw error;
  } finally {
    owners.delete(db);
  }
}
