import { UserError } from '../common/errors.js';
import type { CliIo } from './output.js';

/**
 * Reads a secret from the environment variable `name` and removes it from this process's
 * environment, so worker processes and threads started later do not inherit it. (What remains:
 * the kernel's copy of the initial environment, /proc/<pid>/environ on Linux, readable by the same
 * OS user and root only; store/README.md, "Key hygiene".)
 */
export function takeSecretVariable(io: CliIo, name: string): string | undefined {
  const value = io.env[name];
  delete process.env[name];
  return value !== undefined && value !== '' ? value : undefined;
}

/**
 * The acting user's store passphrase for headless runs: `CLINPROMPT_PASSPHRASE`, else asked on the
 * terminal (input hidden). With neither, a clear error instead of hanging on a closed stdin.
 */
export async function readPassphrase(io: CliIo, purpose = 'Store passphrase'): Promise<string> {
  const fromEnv = takeSecretVariable(io, 'CLINPROMPT_PASSPHRASE');
  if (fromEnv !== undefined) return fromEnv;
  if (io.askSecret) {
    const answer = await io.askSecret(`${purpose}: `);
    if (answer !== '') return answer;
  }
  throw new UserError(
    'LOCKED',
    'The store is locked and no passphrase was given. Set CLINPROMPT_PASSPHRASE (your own passphrase as ' +
      'CLINPROMPT_USER) or run the command on a terminal.',
  );
}
