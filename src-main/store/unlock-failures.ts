/**
 * Failed unlocks, counted per store user in a small file beside the keyring (the database is still
 * locked when they happen, so it cannot hold them): after a few failures each further attempt must
 * wait, doubling up to 15 minutes, and the next successful unlock writes them into the audit log
 * (store.ts). The file holds usernames, OS logins, counts and times, nothing secret.
 *
 * It slows guessing through ClinPrompt; someone who can delete the file can reset the count, but
 * each guess still costs a full scrypt derivation (keys/passphrase.ts), and the keyring can be
 * attacked offline anyway: the passphrase's strength is the real defence.
 */
import { readFileSync, rmSync } from 'node:fs';

import { UserError } from '../common/errors.js';
import { replaceFileAtomically } from './atomic-file.js';

/** Failures allowed in a row before attempts must wait. */
export const FREE_ATTEMPTS = 3;
const FIRST_WAIT_MS = 5_000;
const MAX_WAIT_MS = 15 * 60 * 1000;

export interface UnlockFailures {
  readonly count: number;
  readonly firstAt: string;
  readonly lastAt: string;
  readonly osUsers: readonly string[];
  /** How many of `count` are already in the audit log. */
  readonly audited: number;
}

type FailureFile = Record<string, UnlockFailures>;

function read(file: string): FailureFile {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as FailureFile) : {};
  } catch {
    return {};
  }
}

function write(file: string, failures: FailureFile): void {
  if (Object.keys(failures).length === 0) rmSync(file, { force: true });
  else replaceFileAtomically(file, JSON.stringify(failures, null, 2) + '\n');
}

/** How long `user` must wait before the next attempt (0: go ahead). */
export function unlockWaitMs(file: string, user: string, now = Date.now()): number {
  const failures = read(file)[user];
  if (!failures || failures.count < FREE_ATTEMPTS) return 0;
  const wait = Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** (failures.count - FREE_ATTEMPTS));
  return Math.max(0, Date.parse(failures.lastAt) + wait - now);
}

/** Refuses an attempt that comes too soon after repeated failures. */
export function checkUnlockAllowed(file: string, user: string): void {
  const wait = unlockWaitMs(file, user);
  if (wait > 0) {
    const count = read(file)[user]?.count ?? 0;
    throw new UserError(
      'LOCKED',
      `Too many failed unlocks for "${user}" (${count} in a row). Wait ${Math.ceil(wait / 1000)} seconds, then try ` +
        'again; every failed attempt is recorded in the audit log.',
    );
  }
}

export function recordUnlockFailure(file: string, user: string, osUser: string): void {
  const failures = read(file);
  const now = new Date().toISOString();
  const previous = failures[user];
  failures[user] = {
    count: (previous?.count ?? 0) + 1,
    firstAt: previous?.firstAt ?? now,
    lastAt: now,
    osUsers: [...new Set([...(previous?.osUsers ?? []), osUser])],
    audited: previous?.audited ?? 0,
  };
  write(file, failures);
}

/**
 * After `user` unlocked (none: a failure while the store is open): their own count starts over,
 * and every user's failures not yet in the audit log are returned (and marked audited) for the
 * caller to append. Other users keep their counts: someone else's success must not lift a wait.
 */
export function takeUnauditedFailures(file: string, user: string | undefined): Record<string, UnlockFailures> {
  const failures = read(file);
  const unaudited: Record<string, UnlockFailures> = {};
  for (const [name, entry] of Object.entries(failures)) {
    if (entry.count > (entry.audited ?? 0)) unaudited[name] = entry;
    failures[name] = { ...entry, audited: entry.count };
  }
  if (user !== undefined) delete failures[user];
  if (Object.keys(unaudited).length > 0 || Object.keys(failures).length !== Object.keys(read(file)).length) {
    write(file, failures);
  }
  return unaudited;
}
