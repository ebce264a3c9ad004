import { describe, expect, it } from 'vitest';

import type { CliIo } from '../../../src-main/cli/output.js';
import { readPassphrase } from '../../../src-main/cli/passphrase.js';

const io = (env: NodeJS.ProcessEnv, askSecret?: (q: string) => Promise<string>): CliIo => ({
  stdout: { write: () => 0 },
  stderr: { write: () => 0 },
  env,
  ...(askSecret ? { askSecret } : {}),
});

describe('readPassphrase', () => {
  it('takes CLINPROMPT_PASSPHRASE first', async () => {
    const ask = () => expect.fail('must not ask when the variable is set');
    expect(await readPassphrase(io({ CLINPROMPT_PASSPHRASE: 'correct horse' }, ask))).toBe('correct horse');
  });

  it('asks on the terminal when the variable is missing', async () => {
    const questions: string[] = [];
    const answer = await readPassphrase(
      io({}, async (q) => (questions.push(q), 'typed')),
      'New passphrase',
    );
    expect(answer).toBe('typed');
    expect(questions).toEqual(['New passphrase: ']);
  });

  it('fails with what to do when there is neither (no hanging on a closed stdin)', async () => {
    await expect(readPassphrase(io({}))).rejects.toMatchObject({
      code: 'LOCKED',
      message: expect.stringMatching(/CLINPROMPT_PASSPHRASE/),
    });
  });
});
