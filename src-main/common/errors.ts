/**
 * Error kinds that cross module and process boundaries.
 *
 * - `UserError`: an expected failure the user can fix (bad file, wrong key, backbone mismatch...).
 *   Its message says what happened and what to do next. It names files, task ids and counts, never
 *   note text, so it is safe to log and to send to the renderer. When one setting the user chose
 *   is wrong, `field` names it as the request does (`name`, `task`, `mapping`) and the message
 *   leaves it unnamed: each front end puts its own words first, the CLI its flag ("--name: ...")
 *   and the app the field's label ("Dataset name: ...").
 * - `CancelledError`: the user (or a shutdown) cancelled long work; not a failure.
 * - anything else is a bug. Bugs are reported to the renderer with a generic message only, because
 *   their text may embed data (e.g. a library echoing a value it choked on).
 */

/** Stable, machine-readable error codes. Add a code here rather than inventing strings inline. */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'BAD_FILE'
  | 'UNSUPPORTED'
  | 'WRONG_KEY'
  | 'LOCKED'
  | 'PERMISSION_DENIED'
  | 'BACKBONE_MISMATCH'
  /** A prompt pack whose signer is not trusted here (or that is unsigned). */
  | 'UNTRUSTED'
  /** Text leaving the workstation looks like it holds an identifier (packs/phi-scan.ts). */
  | 'PHI_SUSPECTED'
  | 'OUT_OF_MEMORY'
  | 'DISK_FULL'
  | 'CANCELLED'
  | 'WORKER_FAILED'
  | 'INTERNAL';

export class UserError extends Error {
  override readonly name = 'UserError';
  /** The setting that was wrong, by its request name (see the file comment). */
  readonly field: string | undefined;
  constructor(
    readonly code: Exclude<ErrorCode, 'INTERNAL' | 'CANCELLED'>,
    message: string,
    options?: { cause?: unknown; field?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.field = options?.field;
  }
}

export class CancelledError extends Error {
  override readonly name = 'CancelledError';
  readonly code = 'CANCELLED' as const;
  constructor(message = 'Cancelled.') {
    super(message);
  }
}

/** The shape every error takes when it leaves a process (IPC, worker messages, CLI --json). */
export interface SerializedError {
  readonly code: ErrorCode;
  readonly message: string;
  /** The setting that was wrong (UserError.field), for the front end to name in its own words. */
  readonly field?: string;
}

const GENERIC_BUG_MESSAGE =
  'An internal error occurred. Nothing was lost; please retry, and report it if it happens again.';

/** Serialises an error for another process. Bugs keep only a generic message (see file comment). */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof UserError) {
    return { code: error.code, message: error.message, ...(error.field !== undefined && { field: error.field }) };
  }
  if (error instanceof CancelledError) return { code: error.code, message: error.message };
  const fsCode = nodeErrorCode(error);
  if (fsCode === 'ENOSPC') {
    return { code: 'DISK_FULL', message: 'The disk is full. Free some space and try again.' };
  }
  return { code: 'INTERNAL', message: GENERIC_BUG_MESSAGE };
}

/** Turns a serialised error back into the matching class on the receiving side. */
export function deserializeError(serialized: SerializedError): Error {
  if (serialized.code === 'CANCELLED') return new CancelledError(serialized.message);
  if (serialized.code === 'INTERNAL') return new Error(serialized.message);
  return new UserError(
    serialized.code,
    serialized.message,
    serialized.field !== undefined ? { field: serialized.field } : undefined,
  );
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}

/** The `code` of a Node system error (ENOENT, ENOSPC...), if it is one. */
export function nodeErrorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
