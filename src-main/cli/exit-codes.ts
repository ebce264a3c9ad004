/** Exit codes of `clinprompt` (documented in README.md). */
export const EXIT = {
  ok: 0,
  /** The command ran and failed for a reason the message explains (bad file, wrong key...). */
  failed: 1,
  /** Bad usage: unknown command or option, invalid argument. */
  usage: 2,
  /** A bug: the message is generic, the log has the stack. */
  internal: 70,
  cancelled: 130,
} as const;
