import { describe, expect, it } from 'vitest';

import { CancelledError, deserializeError, serializeError, UserError } from '../../../src-main/common/errors.js';

describe('serializeError', () => {
  it('keeps the code and message of expected errors', () => {
    const error = new UserError('BAD_FILE', 'notes.tsv line 3: expected 2 columns, found 1.');
    expect(serializeError(error)).toEqual({
      code: 'BAD_FILE',
      message: 'notes.tsv line 3: expected 2 columns, found 1.',
    });
    expect(serializeError(new CancelledError())).toEqual({ code: 'CANCELLED', message: 'Cancelled.' });
  });

  it('reduces bugs to a generic message, so data echoed in their text never leaves the process', () => {
    const serialized = serializeError(new TypeError('cannot read "Patient John Doe, MRN 12345"'));
    expect(serialized.code).toBe('INTERNAL');
    expect(serialized.message).not.toContain('John Doe');
    expect(serialized.message).toMatch(/retry/);
  });

  it('turns a full disk into an error the user can act on', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    expect(serializeError(enospc)).toMatchObject({
      code: 'DISK_FULL',
      message: expect.stringMatching(/Free some space/),
    });
  });

  it('round-trips to the matching error class', () => {
    const back = deserializeError(serializeError(new UserError('WRONG_KEY', 'Wrong passphrase.')));
    expect(back).toBeInstanceOf(UserError);
    expect((back as UserError).code).toBe('WRONG_KEY');
    expect(deserializeError({ code: 'CANCELLED', message: 'Cancelled.' })).toBeInstanceOf(CancelledError);
  });
});
