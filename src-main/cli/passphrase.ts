import { UserError } from '../common/errors.js';
import type { CliIo } from './output.js';

/**
 * The store passphrase for headless runs: `CLINPROMPT_PASSPHRASE`, else asked on the terminal
 * (input hidden). With neither, a clear error instead of hanging on a closed stdin.
 */
export async function readPassphrase(io: CliIo, purpose = 'Store passphrase'): Promise<string> {
  const fromEnv = io.env['CLINPROMPT_PASSPHRASE'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (io.askSecret) {
    const answer = await io.askSecret(`${purpose}: `);
    if (answer !== '') return answer;
  }
  throw new UserError(
    'LOCKED',
    'The store is locked and no passphrase was given. Set CLINPROMPT_PASSPHRASE or run the command on a terminal.',
  );
}
