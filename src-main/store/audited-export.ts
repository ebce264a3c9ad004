/**
 * Files that carry store content out of the store (backups, dataset exports): audited before their
 * first byte exists, written owner-only, and in place only once complete.
 *
 *   1. a temp file (or folder) beside the target, created empty with mode 0600 (0700), exclusively;
 *   2. the audit entry commits (who, what, where the file goes);
 *   3. the content is written into the temp file, fsynced;
 *   4. it is linked into place (never over an existing file), the temp name removed.
 * A failure after step 2 removes the temp file and audits the failure, so the log never shows an
 * export that left nothing behind without saying so. Windows ignores the mode: step 1 also gives
 * the temp file an owner-only ACL (owner-only.ts), which the linked name shares.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  unlinkSync,
} from 'node:fs';
import path from 'node:path';

import { UserError } from '../common/errors.js';
import { fsyncDir } from './atomic-file.js';
import { restrictToOwner } from './owner-only.js';
import type { Permission } from './permissions.js';
import type { ActionRecord, StoreSession } from './session.js';

export interface AuditedExport {
  readonly session: StoreSession;
  readonly permission: Permission;
  /** The audit action, e.g. `store.backup`; a failure is audited as `<action>.failed`. */
  readonly action: string;
  readonly target: string;
  /** What the audit entry says besides the target (ids, format; never note text). */
  readonly record?: ActionRecord;
  /** A folder of files (BRAT) instead of one file. */
  readonly folder?: boolean;
}

/**
 * Runs `write(tempPath)` under the protocol above and returns its result; the finished file is at
 * `target`. `write` must fill the path it is given (a file that exists, empty and 0600, or an
 * empty 0700 folder).
 */
export async function writeAuditedExport<T>(
  request: AuditedExport,
  write: (tempPath: string) => T | Promise<T>,
): Promise<T> {
  const target = path.resolve(request.target);
  if (existsSync(target)) {
    throw new UserError('ALREADY_EXISTS', `${target} already exists; choose a new file name. Nothing was written.`);
  }
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  if (request.folder) mkdirSync(temp, { mode: 0o700 });
  else closeSync(openSync(temp, 'wx', 0o600));
  try {
    restrictToOwner(temp, request.folder === true); // Windows: mode bits do not apply (owner-only.ts)
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
  const details = { ...request.record?.details, file: target };
  try {
    request.session.record(request.permission, request.action, { ...request.record, details });
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
  try {
    const result = await write(temp);
    if (request.folder) {
      renameSync(temp, target); // a folder cannot be hard-linked; rename refuses a non-empty target
    } else {
      const fd = openSync(temp, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      linkSync(temp, target); // fails if `target` appeared meanwhile: never overwrite
      unlinkSync(temp);
    }
    fsyncDir(path.dirname(target));
    return result;
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    try {
      request.session.record(request.permission, `${request.action}.failed`, {
        ...request.record,
        details: { file: target, error: error instanceof UserError ? error.code : 'INTERNAL' },
      });
    } catch {
      // the write's own error is the one to report; the attempt is already audited
    }
    throw error;
  }
}
