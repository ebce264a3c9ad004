/**
 * The desktop app's encrypted store lifecycle: first-run set-up, unlock, lock (on request, after
 * inactivity, on quit) and the person acting, for the IPC contract (store/README.md, "Rules for
 * callers"). The acting person is the workstation login, as in the CLI, and must be a user of
 * the store. The key is protected by the person's passphrase and, when one is usable, also by the
 * OS keychain or Electron safeStorage (chooseDesktopProtection) for one-click unlocks; the shell
 * hands both in as ports, so this module runs, and is tested, under plain Node.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';

import { UserError } from '../common/errors.js';
import { log } from '../common/log.js';
import type { StoreProtection, StoreState } from '../ipc/contract.js';
import { auditSinkFromEnv } from '../store/audit-sink.js';
import { DEFAULT_IDLE_LOCK_MS } from '../store/auto-lock.js';
import { roleTitle } from '../store/permissions.js';
import { chooseDesktopProtection } from '../store/keys/desktop-protection.js';
import type { KeychainBackend } from '../store/keys/keychain.js';
import { readKeyring, wrappersOf, type KeySources, type WrapMethods } from '../store/keys/keyring.js';
import type { SafeStorageLike } from '../store/keys/safe-storage.js';
import type { StoreSession } from '../store/session.js';
import { initStore, openStore, storePaths, type Store, type StoreOptions } from '../store/store.js';

export interface StoreServiceOptions {
  readonly dataDir: string;
  /** Who acts: the workstation login unless given (tests, servers). */
  readonly username?: string;
  /** The OS keychain (keytar), when it loads on this machine. */
  readonly keychain?: KeychainBackend;
  /** Electron safeStorage, inside the desktop app. */
  readonly safeStorage?: SafeStorageLike;
  /** Lock after this long without activity (default: the store's 15-minute policy). */
  readonly autoLockMs?: number;
  /** scrypt cost for a new passphrase (tests use a cheaper, still accepted, cost). */
  readonly scrypt?: WrapMethods['scrypt'];
}

export type LockReason = 'inactivity' | 'request';

export class StoreService {
  readonly username: string;
  readonly autoLockMs: number;
  #store: Store | undefined;
  /** The acting person's role, read at unlock (status must not count as activity). */
  #role: string | undefined;
  /** One unlock or set-up at a time: a second click must not open a second connection. */
  #opening: Promise<StoreState> | undefined;
  /**
   * Set by an automatic lock: the next unlock must re-authenticate the person with their
   * passphrase. The keychain or safeStorage would release the key to anyone at the open OS session
   * without asking (keytar and safeStorage have no presence check), which is exactly what an idle
   * lock doubts. Cleared by an unlock; a lock on request keeps one-click unlock.
   */
  #reauthenticate = false;
  readonly #listeners = new Set<(reason: LockReason) => void>();

  constructor(private readonly options: StoreServiceOptions) {
    this.username = options.username ?? os.userInfo().username;
    this.autoLockMs = options.autoLockMs ?? DEFAULT_IDLE_LOCK_MS;
  }

  /** Called after every lock; returns the unsubscribe function. */
  onDidLock(listener: (reason: LockReason) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  async status(): Promise<StoreState> {
    const paths = storePaths(this.options.dataDir);
    const base = {
      dataDir: paths.home,
      username: this.username,
      autoLockSeconds: Math.round(this.autoLockMs / 1000),
    };
    if (!existsSync(paths.keyringFile) && !existsSync(paths.dbFile)) {
      const choice = await chooseDesktopProtection(this.#ports());
      const kind = choice.protect?.keychain ? 'keychain' : choice.protect?.safeStorage ? 'safe-storage' : undefined;
      return {
        ...base,
        state: 'absent',
        protections: [],
        unlocksWithoutPassphrase: false,
        ...(kind ? { automaticProtection: kind } : { passphraseReason: choice.reason ?? '' }),
      };
    }
    // the acting person's own credentials (and a shared one of an older store)
    const protections: StoreProtection[] = [
      ...new Set(wrappersOf(readKeyring(paths.keyringFile).current, this.username).map((w) => w.kind)),
    ];
    const store = this.#openStore();
    return {
      ...base,
      state: store ? 'unlocked' : 'locked',
      protections,
      unlocksWithoutPassphrase:
        !this.#mustReauthenticate(protections) &&
        protections.some(
          (p) => (p === 'keychain' && this.options.keychain) || (p === 'safe-storage' && this.options.safeStorage),
        ),
      ...(store && this.#role ? { role: this.#role, roleTitle: roleTitle(this.#role) } : {}),
    };
  }

  /**
   * Creates the store with the workstation login as its first informatics-admin, and unlocks it.
   * A passphrase is always set: the keychain or safeStorage, when usable, also wraps the key for
   * one-click unlocks after a restart or a Lock, but after an idle lock only the passphrase shows
   * that the person is still the one at the keyboard (see `#reauthenticate`).
   */
  setUp(request: { passphrase?: string | undefined }): Promise<StoreState> {
    return this.#exclusive(async () => {
      const choice = await chooseDesktopProtection(this.#ports());
      if (request.passphrase === undefined) {
        throw new UserError(
          'INVALID_ARGUMENT',
          choice.protect
            ? 'Choose a passphrase (at least 12 characters) as well: after inactivity the store asks for it, ' +
                'because the keychain cannot tell you from whoever sits down at this workstation.'
            : `${choice.reason ?? ''} Choose a passphrase (at least 12 characters) to protect the store.`.trim(),
          { field: 'passphrase' },
        );
      }
      const protect: WrapMethods = { ...choice.protect, ...this.passphraseCredential(request.passphrase) };
      this.#store = await initStore(this.options.dataDir, {
        ...this.#storeOptions(),
        protect,
        admin: { username: this.username },
      });
      this.#role = 'informatics-admin';
      log.info('store-set-up', { protections: this.#store.keyring.current.wrappers.map((w) => w.kind) });
      return this.status();
    });
  }

  /** Unlocks with the keychain or safeStorage when the store has them, else with the passphrase. */
  unlock(request: { passphrase?: string | undefined }): Promise<StoreState> {
    return this.#exclusive(async () => {
      if (this.#openStore()) return this.status();
      const paths = storePaths(this.options.dataDir);
      if (!existsSync(paths.keyringFile)) {
        throw new UserError('NOT_FOUND', `There is no store in ${paths.home} yet. Set one up first.`);
      }
      const kinds = wrappersOf(readKeyring(paths.keyringFile).current, this.username).map((w) => w.kind);
      const reauthenticate = this.#mustReauthenticate(kinds);
      const automatic =
        !reauthenticate &&
        ((kinds.includes('keychain') && this.options.keychain) ||
          (kinds.includes('safe-storage') && this.options.safeStorage));
      if (!automatic && request.passphrase === undefined) {
        throw new UserError(
          'INVALID_ARGUMENT',
          reauthenticate
            ? 'The store locked itself after inactivity. Enter your passphrase to show it is still you.'
            : 'This store is protected by a passphrase. Enter it to unlock.',
        );
      }
      const sources: KeySources & { user: string } = {
        user: this.username,
        ...(reauthenticate ? {} : this.#ports()),
        ...(request.passphrase !== undefined ? { passphrase: request.passphrase } : {}),
      };
      const store = await openStore(this.options.dataDir, sources, this.#storeOptions());
      try {
        const session = store.session(this.username); // refuses (and audits) people who are not users
        store.audit.append({ username: this.username, role: session.user.role, action: 'store.unlock' });
      } catch (error) {
        store.close();
        throw error;
      }
      this.#store = store;
      this.#reauthenticate = false;
      this.#role = store.users.find(this.username)?.role;
      log.info('store-unlocked', { protections: kinds });
      return this.status();
    });
  }

  /** A passphrase credential at this app's scrypt cost (tests choose a cheaper, still accepted, one). */
  passphraseCredential(passphrase: string): WrapMethods {
    return { passphrase, ...(this.options.scrypt ? { scrypt: this.options.scrypt } : {}) };
  }

  /** Closes the database and wipes the key; the next use needs an unlock. */
  async lock(): Promise<StoreState> {
    const store = this.#openStore();
    if (store) {
      const user = store.users.find(this.username);
      if (user) store.audit.append({ username: user.username, role: user.role, action: 'store.lock' });
      this.#close('request');
    }
    return this.status();
  }

  /** Typing and clicks in the app: activity, so the store stays open while a form is filled in. */
  noteActivity(): { counted: boolean } {
    const store = this.#openStore();
    if (store) void store.db; // each use of the connection restarts the idle countdown
    return { counted: store !== undefined };
  }

  /**
   * Runs `work` as the acting person on the unlocked store. Long work (reading a large import)
   * counts as activity throughout, so the store does not lock under it.
   */
  async use<T>(work: (store: Store, session: StoreSession) => T | Promise<T>): Promise<T> {
    const store = this.#openStore();
    if (!store) throw new UserError('LOCKED', 'The store is locked. Unlock it to continue.');
    const session = store.session(this.username);
    const keepAlive = setInterval(() => void (store.locked || store.db), Math.max(250, this.autoLockMs / 3));
    try {
      return await work(store, session);
    } finally {
      clearInterval(keepAlive);
    }
  }

  /** Locks on quit. */
  dispose(): void {
    this.#close('request');
    this.#listeners.clear();
  }

  #ports(): { keychain?: KeychainBackend; safeStorage?: SafeStorageLike } {
    return {
      ...(this.options.keychain ? { keychain: this.options.keychain } : {}),
      ...(this.options.safeStorage ? { safeStorage: this.options.safeStorage } : {}),
    };
  }

  #storeOptions(): StoreOptions {
    return {
      auditSink: auditSinkFromEnv(), // a bad CLINPROMPT_AUDIT_SINK stops here, before any file is touched
      autoLockMs: this.autoLockMs,
      onDidLock: () => this.#close('inactivity'),
      ...(this.options.keychain ? { keychain: this.options.keychain } : {}),
    };
  }

  /** The unlocked store, or undefined (none yet, or locked by the auto-lock). */
  #openStore(): Store | undefined {
    if (this.#store?.locked) this.#store = undefined;
    return this.#store;
  }

  /**
   * Whether the next unlock needs the passphrase: after an automatic lock, for a person who has one.
   * (Someone whose only credential is the keychain or safeStorage cannot be asked again; see
   * store/README.md, "Automatic logoff".)
   */
  #mustReauthenticate(kinds: readonly StoreProtection[]): boolean {
    return this.#reauthenticate && kinds.includes('passphrase');
  }

  #close(reason: LockReason): void {
    const store = this.#store;
    if (!store) return;
    if (reason === 'inactivity') this.#reauthenticate = true;
    this.#store = undefined;
    store.close();
    log.info('store-locked', { reason });
    for (const listener of this.#listeners) listener(reason);
  }

  async #exclusive(work: () => Promise<StoreState>): Promise<StoreState> {
    if (this.#opening) {
      throw new UserError('LOCKED', 'The store is already being opened. Wait for it to finish.');
    }
    this.#opening = work();
    try {
      return await this.#opening;
    } finally {
      this.#opening = undefined;
    }
  }
}
