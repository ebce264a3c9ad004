/**
 * Owner-only access for files that leave the store. POSIX: the mode they are created with (0600,
 * 0700) already says it. Windows ignores mode bits and a new file inherits its folder's ACL, so
 * there the inherited entries are removed and the current account alone gets full control, with
 * the icacls that ships with Windows. Not run by the tests (no Windows runner): only the
 * arguments are checked there.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';

import { UserError } from '../common/errors.js';

/** icacls arguments: drop inherited entries, replace any grant with full control for `account`. */
export function ownerOnlyAclArgs(target: string, account: string, folder: boolean): string[] {
  return [target, '/inheritance:r', '/grant:r', `${account}:${folder ? '(OI)(CI)F' : 'F'}`];
}

/** Makes `target` (just created, still empty) accessible to the current account only. */
export function restrictToOwner(target: string, folder: boolean, platform: NodeJS.Platform = process.platform): void {
  if (platform !== 'win32') return; // created 0600 / 0700
  const domain = process.env['USERDOMAIN'];
  const account = domain ? `${domain}\\${os.userInfo().username}` : os.userInfo().username;
  const result = spawnSync('icacls', ownerOnlyAclArgs(target, account, folder), { stdio: 'ignore', windowsHide: true });
  if (result.status !== 0) {
    throw new UserError(
      'PERMISSION_DENIED',
      `Could not make ${target} readable by ${account} only (icacls ${result.error ? 'is missing' : `exit ${result.status ?? 'signal'}`}). Nothing was exported.`,
    );
  }
}
