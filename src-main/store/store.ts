/**
 * The encrypted store of one ClinPrompt data folder: opening and creating it, unlocking its data
 * key (keys/keyring.ts), key rotation, auto-lock, and access to the repositories.
 *
 *   <home>/store/clinprompt.db   SQLCipher-compatible AES-256 database (+ -wal, -shm while open)
 *   <home>/store/keyring.json    the data key, wrapped (never in the clear)
 *   <home>/store/blobs/          large values, each sealed with its own key (repositories/blobs.ts)
 *   <home>/store/audit-head.json the audit log's newest entry, signed (audit.ts)
 *
 * Existing data is never replaced: init refuses a folder that has a database or a keyring, and a
 * key that does not open the database is an error, not a reason to start over.
 */
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { UserError } from '../common/errors.js';
import { log } from '../common/log.js';
import {
  attachAuditKey,
  detachAuditKey,
  finishAuditKeyRotation,
  openAuditKey,
  prepareAuditKeyRotation,
} from './audit-key.js';
import { AuditLog } from './audit.js';
import type { AuditSinkConfig } from './audit-sink.js';
import { AutoLock } from './auto-lock.js';
import { generateDataKey, wipe } from './keys/data-key.js';
import {
  forgetSlot,
  newKeyring,
  readKeyring,
  unlockKey,
  unwrapKey,
  wrapKey,
  wrappersOf,
  writeKeyring,
  type KeyringFile,
  type KeySlot,
  type KeySources,
  type WrapMethods,
  type WrapperKind,
} from './keys/keyring.js';
import type { KeychainBackend } from './keys/keychain.js';
import { LATEST_VERSION, migrate, schemaVersion } from './migrations.js';
import { AnnotationsRepository } from './repositories/annotations.js';
import { BlobStore } from './repositories/blobs.js';
import { DatasetsRepository } from './repositories/datasets.js';
import { NotesRepository } from './repositories/notes.js';
import { PromptsRepository } from './repositories/prompts.js';
import { RunsRepository } from './repositories/runs.js';
import { SigningKeysRepository } from './repositories/signing-keys.js';
import { checkUsername, UsersRepository } from './repositories/users.js';
import { StoreSession } from './session.js';
import { checkUnlockAllowed, recordUnlockFailure, takeUnauditedFailures } from './unlock-failures.js';
import { closeQuietly, isSqliteCode, openEncryptedDatabase, rekeyDatabase, storeBusy, type Db } from './sqlite.js';

export interface StorePaths {
  readonly home: string;
  readonly dir: string;
  readonly dbFile: string;
  readonly keyringFile: string;
  readonly blobsDir: string;
  /** The audit log's signed head checkpoint (audit.ts), outside the database so a rollback shows. */
  readonly auditHeadFile: string;
  /** Failed unlocks per user, until they are audited (unlock-failures.ts). */
  readonly unlockFailuresFile: string;
}

export function storePaths(home: string): StorePaths {
  const dir = path.join(path.resolve(home), 'store');
  return {
    home: path.resolve(home),
    dir,
    dbFile: path.join(dir, 'clinprompt.db'),
    keyringFile: path.join(dir, 'keyring.json'),
    blobsDir: path.join(dir, 'blobs'),
    auditHeadFile: path.join(dir, 'audit-head.json'),
    unlockFailuresFile: path.join(dir, 'unlock-failures.json'),
  };
}

export interface StoreOptions {
  /** Lock after this long without activity (ms); no auto-lock when absent (CLI runs, workers). */
  readonly autoLockMs?: number;
  /** Called after an automatic lock (the UI shows its unlock screen). */
  readonly onDidLock?: () => void;
  /** Used to remove keychain entries of replaced keys. */
  readonly keychain?: KeychainBackend;
  /** The OS login of this process, recorded beside the store user in every audit entry (default: os.userInfo()). */
  readonly osUser?: string;
  /** Where the audit head is copied off the store's folder (front ends pass auditSinkFromEnv(); default none). */
  readonly auditSink?: AuditSinkConfig;
}

export interface InitOptions extends StoreOptions {
  readonly protect: WrapMethods;
  /** The first user, an informatics-admin (usually the person running init). */
  readonly admin: { readonly username: string; readonly displayName?: string };
}

export interface StoreStatus {
  readonly home: string;
  readonly storeId: string;
  readonly cipher: string;
  readonly keyFingerprint: string;
  readonly protections: readonly WrapperKind[];
  readonly schemaVersion: number;
  readonly latestSchemaVersion: number;
  readonly journalMode: string;
  readonly databaseBytes: number;
  readonly counts: Readonly<
    Record<'users' | 'notes' | 'annotations' | 'datasets' | 'examples' | 'runs' | 'prompts' | 'auditEntries', number>
  >;
}

/** The system identity in the audit log for things no person did (migrations, crash recovery). */
export const SYSTEM_ACTOR = { username: 'clinprompt', role: 'system' } as const;

/** Creates a new store in `home`; refuses if one (or part of one) is already there. */
export async function initStore(home: string, options: InitOptions): Promise<Store> {
  const paths = storePaths(home);
  for (const file of [paths.dbFile, paths.keyringFile]) {
    if (existsSync(file)) {
      throw new UserError(
        'ALREADY_EXISTS',
        `${file} already exists: this folder has a store (or the rest of one). It was left untouched; ` +
          'unlock it, or choose another CLINPROMPT_HOME.',
      );
    }
  }
  checkUsername(options.admin.username); // before anything is written
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const key = generateDataKey();
  let db: Db | undefined;
  try {
    const keyring = await newKeyring(key, options.protect, options.admin.username);
    // The keyring is written first: a crash before the database exists leaves a keyring and no
    // data (init then names the file to remove), never data whose key was lost.
    writeKeyring(paths.keyringFile, keyring);
    db = openEncryptedDatabase(paths.dbFile, key, { create: true });
    chmodSync(paths.dbFile, 0o600);
    migrate(db);
    const store = new Store(paths, keyring, db, key, options.admin.username, options);
    db.transaction(() => {
      const admin = store.users.add(options.admin.username, 'informatics-admin', options.admin.displayName);
      store.audit.append({
        username: admin.username,
        role: admin.role,
        action: 'store.init',
        details: { protections: keyring.current.wrappers.map((w) => w.kind).join(','), schemaVersion: LATEST_VERSION },
      });
    }).immediate();
    store.audit.checkpoint();
    log.info('store-initialised', {
      storeId: keyring.storeId,
      protections: keyring.current.wrappers.map((w) => w.kind),
    });
    return store;
  } catch (error) {
    closeQuietly(db);
    wipe(key);
    throw error;
  }
}

/**
 * Unlocks and opens the store in `home` as `sources.user`, with that user's own credential,
 * finishing an interrupted key rotation if needed. Failed attempts are counted and slowed down
 * (unlock-failures.ts) and audited at the next successful unlock.
 */
export async function openStore(
  home: string,
  sources: KeySources & { readonly user: string },
  options: StoreOptions = {},
): Promise<Store> {
  const paths = storePaths(home);
  const keyring = readKeyring(paths.keyringFile);
  if (!existsSync(paths.dbFile)) {
    throw new UserError(
      'NOT_FOUND',
      `${paths.keyringFile} exists but the database ${paths.dbFile} does not: an earlier init was interrupted ` +
        'or the database was moved. Restore it from a backup, or remove the keyring to start over.',
    );
  }
  checkUnlockAllowed(paths.unlockFailuresFile, sources.user);
  const osUser = options.osUser ?? os.userInfo().username;
  const unlocked = await unlockKey(keyring.current, keyring.storeId, sources).catch((error: unknown) => {
    if (error instanceof UserError && error.code === 'WRONG_KEY') {
      recordUnlockFailure(paths.unlockFailuresFile, sources.user, osUser);
    }
    throw error;
  });
  let db: Db;
  let store: Store;
  try {
    db = openEncryptedDatabase(paths.dbFile, unlocked.key, { create: false });
  } catch (error) {
    wipe(unlocked.key);
    if (!(error instanceof UserError && error.code === 'WRONG_KEY' && keyring.pending)) throw error;
    store = await finishRotation(paths, keyring, keyring.pending, sources, options);
    return admitted(store, undefined); // a pending slot holds only the rotating admin's credential: admins only
  }
  if (keyring.pending) await abandonRotation(paths, keyring, keyring.pending, options.keychain ?? sources.keychain);
  store = readyStore(new Store(paths, readKeyring(paths.keyringFile), db, unlocked.key, sources.user, options));
  return admitted(store, unlocked.wrapper.user);
}

/** Appends the failed unlocks not yet audited (anyone's); `succeeded`'s own count starts over. */
function auditUnlockFailures(store: Store, succeeded: string | undefined): void {
  for (const [username, failures] of Object.entries(takeUnauditedFailures(store.paths.unlockFailuresFile, succeeded))) {
    store.audit.append({
      username,
      role: store.users.find(username)?.role ?? 'unknown',
      action: 'unlock.failed',
      details: {
        attempts: failures.count - failures.audited,
        firstAt: failures.firstAt,
        lastAt: failures.lastAt,
        osUsers: failures.osUsers.join(','),
      },
    });
  }
}

/**
 * The unlocking person must be an active user of the store; a shared credential of an older store
 * (no owner) admits informatics-admins only. Audits earlier failed unlocks, then the unlock.
 */
function admitted(store: Store, owner: string | undefined): Store {
  try {
    const session = store.session(store.actor); // unknown users are refused (and audited) here
    if (session.user.disabled || (owner === undefined && session.user.role !== 'informatics-admin')) {
      session.require('store.admin', 'unlock with the shared credential of an older store');
    }
    auditUnlockFailures(store, store.actor);
    return store;
  } catch (error) {
    store.close();
    throw error;
  }
}

/** Brings an opened store's schema up to date (closing it again if that fails). */
function readyStore(store: Store): Store {
  try {
    store.migrateSchema();
    store.blobs.sweepOrphans();
    return store;
  } catch (error) {
    store.close();
    throw error;
  }
}

/** The database opens only with the pending key: the rotation reached the database; adopt the key. */
async function finishRotation(
  paths: StorePaths,
  keyring: KeyringFile,
  pending: KeySlot,
  sources: KeySources & { readonly user: string },
  options: StoreOptions,
): Promise<Store> {
  const { key } = await unlockKey(pending, keyring.storeId, sources);
  const db = openEncryptedDatabase(paths.dbFile, key, { create: false });
  const { pending: _, ...rest } = keyring;
  const next: KeyringFile = { ...rest, current: pending };
  writeKeyring(paths.keyringFile, next);
  await forgetSlot(keyring.current, options.keychain ?? sources.keychain).catch(() => undefined);
  const store = readyStore(new Store(paths, next, db, key, sources.user, options));
  store.audit.append({
    ...SYSTEM_ACTOR,
    action: 'store.rekey.recovered',
    details: { fingerprint: pending.fingerprint },
  });
  return store;
}

/** The database still opens with the current key: the rotation never reached it; drop the pending key. */
async function abandonRotation(
  paths: StorePaths,
  keyring: KeyringFile,
  pending: KeySlot,
  keychain?: KeychainBackend,
): Promise<void> {
  const { pending: _, ...rest } = keyring;
  writeKeyring(paths.keyringFile, rest);
  await forgetSlot(pending, keychain).catch(() => undefined);
}

export class Store {
  #db: Db | undefined;
  #key: Buffer | undefined;
  #keyring: KeyringFile;
  readonly #autoLock: AutoLock | undefined;

  /**
   * @param actor the store user who unlocked it with their own credential: the only person this
   *   Store object acts for (session()).
   */
  constructor(
    readonly paths: StorePaths,
    keyring: KeyringFile,
    db: Db,
    key: Buffer,
    readonly actor: string,
    private readonly options: StoreOptions = {},
  ) {
    this.#db = db;
    this.#key = key;
    this.#keyring = keyring;
    const osUser = options.osUser ?? os.userInfo().username;
    attachAuditKey(db, {
      ...openAuditKey(db, key),
      headFile: paths.auditHeadFile,
      osUser,
      external: { storeId: keyring.storeId, config: options.auditSink ?? {} },
    });
    if (options.autoLockMs !== undefined) {
      this.#autoLock = new AutoLock(options.autoLockMs, () => {
        this.lock();
        options.onDidLock?.();
      });
    }
  }

  /**
   * Checks `passphrase` against `username`'s own passphrase wrapper while the store is open (before
   * that person may choose a new one). A wrong one counts, waits and is audited like a failed
   * unlock: an open workstation must not become a place to guess someone's passphrase.
   */
  async checkPassphraseOf(username: string, passphrase: string): Promise<void> {
    const file = this.paths.unlockFailuresFile;
    checkUnlockAllowed(file, username);
    const own = wrappersOf(this.#keyring.current, username).filter((w) => w.kind === 'passphrase');
    if (own.length === 0) {
      throw new UserError(
        'INVALID_ARGUMENT',
        `${username} has no passphrase for this store yet; an informatics administrator can set one.`,
      );
    }
    try {
      wipe(await unwrapKey({ ...this.#keyring.current, wrappers: own }, this.storeId, { passphrase, user: username }));
    } catch (error) {
      if (error instanceof UserError && error.code === 'WRONG_KEY') {
        recordUnlockFailure(file, username, this.options.osUser ?? os.userInfo().username);
        auditUnlockFailures(this, undefined);
      }
      throw error;
    }
  }

  get storeId(): string {
    return this.#keyring.storeId;
  }

  get keyring(): KeyringFile {
    return this.#keyring;
  }

  get locked(): boolean {
    return this.#db === undefined;
  }

  /** The open connection; every use counts as activity for the auto-lock. */
  get db(): Db {
    if (!this.#db) throw new UserError('LOCKED', 'The store is locked after inactivity. Unlock it to continue.');
    this.#autoLock?.touch();
    return this.#db;
  }

  get users(): UsersRepository {
    return new UsersRepository(this.db);
  }
  get audit(): AuditLog {
    return new AuditLog(this.db);
  }
  get datasets(): DatasetsRepository {
    return new DatasetsRepository(this.db);
  }
  get notes(): NotesRepository {
    return new NotesRepository(this.db);
  }
  get annotations(): AnnotationsRepository {
    return new AnnotationsRepository(this.db);
  }
  get runs(): RunsRepository {
    return new RunsRepository(this.db);
  }
  get blobs(): BlobStore {
    return new BlobStore(this.db, this.paths.blobsDir);
  }
  get prompts(): PromptsRepository {
    return new PromptsRepository(this.db, this.blobs);
  }
  get signingKeys(): SigningKeysRepository {
    return new SigningKeysRepository(this.db, this.blobs);
  }

  /**
   * A session for `username`, who must be the person who unlocked the store (`actor`) and a known
   * user of it: no one acts under another person's name.
   */
  session(username: string = this.actor): StoreSession {
    if (username !== this.actor) {
      this.audit.append({
        username,
        role: 'unknown',
        action: 'session.refused',
        details: { reason: 'not the unlocking user', unlockedBy: this.actor },
      });
      throw new UserError(
        'PERMISSION_DENIED',
        `The store was unlocked by "${this.actor}"; "${username}" must unlock it with their own credential.`,
      );
    }
    const user = this.users.find(username);
    if (!user) {
      this.audit.append({ username, role: 'unknown', action: 'session.refused', details: { reason: 'unknown user' } });
      throw new UserError(
        'PERMISSION_DENIED',
        `"${username}" is not a user of this store. An informatics-admin can add them with \`clinprompt users add ${username} --role <role>\`.`,
      );
    }
    return new StoreSession(
      user,
      () => this.db,
      () => this.#autoLock?.touch(),
    );
  }

  /** Applies pending migrations, auditing each batch as the system. */
  migrateSchema(): void {
    const from = schemaVersion(this.db);
    const applied = migrate(this.db);
    if (applied.length > 0) {
      this.audit.append({ ...SYSTEM_ACTOR, action: 'store.migrate', details: { from, to: applied.at(-1) ?? from } });
    }
  }

  status(): StoreStatus {
    const db = this.db;
    const count = (table: string) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
    return {
      home: this.paths.home,
      storeId: this.storeId,
      cipher: 'SQLCipher 4 compatible, AES-256',
      keyFingerprint: this.#keyring.current.fingerprint,
      protections: [...new Set(this.#keyring.current.wrappers.map((w) => w.kind))], // kinds in use, over all users
      schemaVersion: schemaVersion(db),
      latestSchemaVersion: LATEST_VERSION,
      journalMode: db.pragma('journal_mode', { simple: true }) as string,
      databaseBytes: statSync(this.paths.dbFile).size,
      counts: {
        users: count('users'),
        notes: count('notes'),
        annotations: count('annotations'),
        datasets: count('datasets'),
        examples: count('examples'),
        runs: count('runs'),
        prompts: count('prompts'),
        auditEntries: count('audit_log'),
      },
    };
  }

  /**
   * Rotates the data key: a new random key re-encrypts every database page (PRAGMA rekey) and is
   * wrapped with `protect`. The new key is written to the keyring as `pending` before the database
   * changes, so a crash at any point leaves a store that opens (see openStore). Needs exclusive
   * access: other processes must have closed the store.
   */
  async rotateKey(protect: WrapMethods, by: StoreSession): Promise<KeySlot> {
    by.require('store.admin', 'rotate the store key');
    const db = this.db;
    const newKey = generateDataKey();
    const oldSlot = this.#keyring.current;
    // Only the rotating admin's credential wraps the new key: everyone else's wrapped the old one,
    // and their secrets are not here. They get a new credential with `users passphrase` afterwards.
    const pending = await wrapKey(newKey, this.storeId, protect, by.user.username);
    writeKeyring(this.paths.keyringFile, { ...this.#keyring, pending });
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
      // SQLite3 Multiple Ciphers cannot rekey in WAL mode; the rollback journal keeps it atomic.
      if (db.pragma('journal_mode = DELETE', { simple: true }) !== 'delete') {
        throw new UserError(
          'LOCKED',
          'Another ClinPrompt process has the store open. Close it (and stop running jobs), then rotate the key.',
        );
      }
      prepareAuditKeyRotation(db, newKey);
      rekeyDatabase(db, newKey);
    } catch (error) {
      await abandonRotation(this.paths, this.#keyring, pending, this.options.keychain ?? protect.keychain);
      db.pragma('journal_mode = WAL');
      wipe(newKey);
      throw isSqliteCode(error, 'SQLITE_BUSY') ? storeBusy() : error;
    }
    db.pragma('journal_mode = WAL');
    finishAuditKeyRotation(db, newKey);
    const { pending: _, ...rest } = this.#keyring;
    this.#keyring = { ...rest, current: pending };
    writeKeyring(this.paths.keyringFile, this.#keyring);
    await forgetSlot(oldSlot, this.options.keychain ?? protect.keychain);
    wipe(this.#key);
    this.#key = newKey;
    by.record('store.admin', 'store.rekey', {
      details: {
        from: oldSlot.fingerprint,
        to: pending.fingerprint,
        protections: pending.wrappers.map((w) => w.kind).join(','),
      },
    });
    return pending;
  }

  /**
   * Re-wraps the same data key as the acting person's own credential, replacing all of theirs (and
   * the shared credential of an older store); the database is unchanged. `store rekey --wrap-only`.
   */
  async changeProtection(protect: WrapMethods, by: StoreSession): Promise<KeySlot> {
    by.require('store.admin', 'change how the store key is protected');
    return this.#rewrap(by.user.username, protect, by, (w) => w.user === by.user.username || w.user === undefined);
  }

  /**
   * Gives `username` a credential of the kinds in `protect`, replacing their wrappers of those kinds:
   * anyone for themselves, an informatics-admin for anyone (a new user, a forgotten passphrase). An
   * admin setting their own credential also retires the shared credential of an older store.
   */
  async setCredential(username: string, protect: WrapMethods, by: StoreSession): Promise<KeySlot> {
    const self = username === by.user.username;
    if (!self) by.require('users.manage', `set the credential of ${username}`);
    const user = this.users.get(username);
    if (user.disabled) {
      throw new UserError(
        'INVALID_ARGUMENT',
        `User "${username}" is disabled; enable them with a new credential instead.`,
      );
    }
    const kinds = new Set<WrapperKind>([
      ...(protect.passphrase !== undefined ? (['passphrase'] as const) : []),
      ...(protect.keychain ? (['keychain'] as const) : []),
      ...(protect.safeStorage ? (['safe-storage'] as const) : []),
    ]);
    const retireShared = self && user.role === 'informatics-admin';
    return this.#rewrap(username, protect, by, (w) =>
      w.user === undefined ? retireShared : w.user === username && kinds.has(w.kind),
    );
  }

  /** Removes every credential of `username` (disabling them): they can no longer unlock this store. */
  async revokeCredentials(username: string, by: StoreSession): Promise<number> {
    by.require('users.manage', `revoke the credentials of ${username}`);
    const old = this.#keyring.current;
    const revoked = old.wrappers.filter((w) => w.user === username);
    this.#keyring = {
      ...this.#keyring,
      current: { ...old, wrappers: old.wrappers.filter((w) => w.user !== username) },
    };
    writeKeyring(this.paths.keyringFile, this.#keyring);
    // Only this OS account's keychain is reachable; entries in another account's keychain are dead
    // (no wrapper names them) and die with the next key rotation.
    await forgetSlot({ fingerprint: old.fingerprint, wrappers: revoked }, this.options.keychain).catch(() => undefined);
    return revoked.length;
  }

  /** Replaces the wrappers `replaced` picks with new ones of `protect` for `username`; audits it. */
  async #rewrap(
    username: string,
    protect: WrapMethods,
    by: StoreSession,
    replaced: (wrapper: KeySlot['wrappers'][number]) => boolean,
  ): Promise<KeySlot> {
    if (!this.#key) throw new UserError('LOCKED', 'The store is locked. Unlock it first.');
    const old = this.#keyring.current;
    const added = await wrapKey(this.#key, this.storeId, protect, username);
    const next: KeySlot = { ...old, wrappers: [...old.wrappers.filter((w) => !replaced(w)), ...added.wrappers] };
    this.#keyring = { ...this.#keyring, current: next };
    writeKeyring(this.paths.keyringFile, this.#keyring);
    const stillUsed = new Set(next.wrappers.map((w) => (w.kind === 'keychain' ? w.account : '')));
    const dropped = old.wrappers.filter((w) => replaced(w) && w.kind === 'keychain' && !stillUsed.has(w.account));
    await forgetSlot({ fingerprint: old.fingerprint, wrappers: dropped }, this.options.keychain);
    this.audit.append({
      username: by.user.username,
      role: by.user.role,
      action: 'users.credential',
      objectType: 'user',
      objectIds: [this.users.get(username).id],
      details: { username, protections: added.wrappers.map((w) => w.kind).join(',') },
    });
    return next;
  }

  /**
   * The data key, for the few callers that must open the same database themselves (a worker's own
   * connection, backup). Returned as a copy; the caller wipes it.
   */
  exportKey(): Buffer {
    if (!this.#key) throw new UserError('LOCKED', 'The store is locked. Unlock it first.');
    return Buffer.from(this.#key);
  }

  /** Closes the database and wipes the key; the store must be unlocked again to be used. */
  lock(): void {
    this.#autoLock?.stop();
    detachAuditKey(this.#db);
    closeQuietly(this.#db);
    this.#db = undefined;
    wipe(this.#key);
    this.#key = undefined;
  }

  close(): void {
    this.lock();
  }
}

/** Opens a second connection to an unlocked store's database (e.g. a worker process given the key). */
export function openConnection(paths: StorePaths, key: Buffer, readonly = false): Db {
  return openEncryptedDatabase(paths.dbFile, key, { create: false, readonly });
}
