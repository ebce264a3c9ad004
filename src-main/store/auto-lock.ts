/**
 * Locks the store after a period without activity, as a shared clinical workstation must (HIPAA
 * 164.312(a)(2)(iii), automatic logoff). Locking closes the database and wipes the key from memory;
 * unlocking again needs the keychain or the passphrase.
 */
export const DEFAULT_IDLE_LOCK_MS = 15 * 60 * 1000;

export class AutoLock {
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly idleMs: number,
    private readonly lock: () => void,
  ) {
    this.touch();
  }

  /** Records activity and restarts the idle countdown. */
  touch(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.lock(), this.idleMs);
    this.#timer.unref(); // an idle timer must not keep a CLI process alive
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
