/** `clinprompt store init|status|check|rekey|backup|restore`: the encrypted store in CLINPROMPT_HOME. */
import { UserError } from '../../common/errors.js';
import { checkStore, type StoreCheck } from '../../services/store-admin.js';
import { backupStore, restoreStore } from '../../store/backup.js';
import { wipe } from '../../store/keys/data-key.js';
import { unwrapKey, wrappersOf, type WrapMethods } from '../../store/keys/keyring.js';
import { loadKeytar } from '../../store/keys/keychain.js';
import { initStore, type Store, type StoreStatus } from '../../store/store.js';
import type { CommandContext, RegisterCommands } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { formatTable } from '../output.js';
import { readPassphrase, takeSecretVariable } from '../passphrase.js';
import { cliActor, cliStoreOptions, readSecret, unlockStoreForCli } from '../store-access.js';
import { renderAuditVerification } from './audit.js';

interface ProtectOptions {
  keychain?: boolean;
  passphrase?: boolean; // commander: --no-passphrase sets false
}

/** The protections a new or restored store gets from the command line. */
async function protectFromOptions(context: CommandContext, options: ProtectOptions): Promise<WrapMethods> {
  if (options.passphrase === false && !options.keychain) {
    throw new UserError(
      'INVALID_ARGUMENT',
      '--no-passphrase needs --keychain: the key must be protected by something.',
    );
  }
  return {
    ...(options.keychain ? { keychain: await loadKeytar() } : {}),
    ...(options.passphrase !== false
      ? { passphrase: await readSecret(context.io, 'CLINPROMPT_PASSPHRASE', 'New store passphrase', true) }
      : {}),
  };
}

function renderStatus(s: StoreStatus): string {
  const rows: [string, string][] = [
    ['data folder', s.home],
    ['store id', s.storeId],
    ['encryption', s.cipher],
    ['key fingerprint', s.keyFingerprint],
    ['unlocked by', s.protections.join(', ')],
    ['schema', `${s.schemaVersion} (latest ${s.latestSchemaVersion})`],
    ['journal', s.journalMode],
    ['database size', `${(s.databaseBytes / 1024).toFixed(0)} KiB`],
    ...Object.entries(s.counts).map(([k, v]): [string, string] => [k, String(v)]),
  ];
  return formatTable(['', ''], rows).split('\n').slice(2).join('\n');
}

function renderCheck(c: StoreCheck): string {
  const foreignKeys = Object.entries(c.foreignKeyViolations).map(([table, n]) => `${n} in ${table}`);
  return [
    c.ok ? 'Store check passed.' : 'STORE CHECK FAILED.',
    `SQLite integrity: ${c.integrity.join('; ')}`,
    `foreign keys: ${foreignKeys.length === 0 ? 'ok' : `broken references: ${foreignKeys.join(', ')}`}`,
    renderAuditVerification(c.audit),
  ].join('\n');
}

export const registerStoreCommands: RegisterCommands = (program, context) => {
  const store = program
    .command('store')
    .description('The encrypted store in CLINPROMPT_HOME: create it, check it, rotate its key, back it up');

  store
    .command('init')
    .description(
      'Create a new encrypted store; you become its first informatics-admin. The key is protected by a passphrase ' +
        '(CLINPROMPT_PASSPHRASE, at least 12 characters) and/or the OS keychain',
    )
    .option('--keychain', 'also protect the key with the OS keychain (unlocks without typing)')
    .option('--no-passphrase', 'no passphrase: the OS keychain alone protects the key (needs --keychain)')
    .option('--admin <username>', 'the first admin (default: CLINPROMPT_USER or your login name)')
    .action(async (options: ProtectOptions & { admin?: string }) => {
      const protect = await protectFromOptions(context, options);
      const created = await initStore(context.dataDir, {
        ...cliStoreOptions(context.io),
        protect,
        admin: { username: options.admin ?? cliActor(context.io) },
      });
      context.adoptStore(created);
      context.output.result(created.status(), (s) => `Created an encrypted store.\n${renderStatus(s)}`);
    });

  store
    .command('status')
    .description('Unlock the store and show its encryption, protections, schema version and sizes (no note text)')
    .action(async () => {
      const opened = await context.store();
      context.output.result(opened.status(), renderStatus);
    });

  store
    .command('check')
    .description(
      "Run SQLite's integrity and foreign-key checks and verify the audit log, in one command " +
        '(informatics-admin; exit code 1 if anything is wrong)',
    )
    .action(async () => {
      const result = checkStore(await context.store(), await context.session());
      context.output.result(result, renderCheck);
      if (!result.ok) context.exitCode = EXIT.failed;
    });

  store
    .command('rekey')
    .description(
      'Rotate the data key: re-encrypt the whole database with a new random key (needs informatics-admin and no other ' +
        'ClinPrompt process using the store). A new passphrase is read from CLINPROMPT_NEW_PASSPHRASE when set',
    )
    .option('--wrap-only', 'keep the data key and only re-protect it (fast; e.g. to change the passphrase)')
    .action(async (options: { wrapOnly?: boolean }) => {
      const { store: opened, passphraseUsed } = await unlockStoreForCli(context.io, context.dataDir);
      context.adoptStore(opened);
      const session = opened.session(cliActor(context.io));
      session.require('store.admin', 'rotate the store key');
      const protect = await sameProtections(context, opened, passphraseUsed());
      const owners = (wrappers: readonly { user?: string }[]) => new Set(wrappers.map((w) => w.user ?? ''));
      const before = owners(opened.keyring.current.wrappers);
      const slot = options.wrapOnly
        ? await opened.changeProtection(protect, session)
        : await opened.rotateKey(protect, session);
      const after = owners(slot.wrappers);
      const result = {
        rotated: !options.wrapOnly,
        keyFingerprint: slot.fingerprint,
        protections: wrappersOf(slot, session.user.username).map((w) => w.kind),
        /** Users whose credential wrapped the old key: they need a new one (`users passphrase <user>`). */
        needNewCredential: [...before].filter((u) => u !== '' && !after.has(u)).sort(),
      };
      context.output.result(
        result,
        (r) =>
          (r.rotated
            ? `Rotated the data key (new fingerprint ${r.keyFingerprint}); your credential: ${r.protections.join(', ')}.`
            : `Re-protected the data key with ${r.protections.join(', ')}; the database was not rewritten.`) +
          (r.needNewCredential.length > 0
            ? `\nGive these users a new credential with \`clinprompt users passphrase <user>\`: ${r.needNewCredential.join(', ')}.`
            : ''),
      );
    });

  store
    .command('backup <file>')
    .description('Write an encrypted backup (database, blob files, key) sealed with CLINPROMPT_BACKUP_PASSPHRASE')
    .action(async (file: string) => {
      const opened = await context.store();
      const session = opened.session(cliActor(context.io));
      session.require('store.admin', 'back up the store');
      const passphrase = await readSecret(context.io, 'CLINPROMPT_BACKUP_PASSPHRASE', 'Backup passphrase', true);
      const result = await backupStore(opened, session, file, passphrase);
      context.output.result(
        result,
        (r) => `Wrote ${r.file} (${(r.bytes / 1024).toFixed(0)} KiB, ${r.blobFiles} blob files), encrypted.`,
      );
    });

  store
    .command('restore <file>')
    .description(
      'Restore an encrypted backup into an empty CLINPROMPT_HOME as an informatics-admin of it (CLINPROMPT_USER; backup ' +
        'passphrase from CLINPROMPT_BACKUP_PASSPHRASE; your new credential: CLINPROMPT_PASSPHRASE and/or --keychain). ' +
        'Other users then get a new credential with `users passphrase <user>`',
    )
    .option('--keychain', 'also protect the restored key with the OS keychain')
    .option('--no-passphrase', 'no passphrase: the OS keychain alone protects the key (needs --keychain)')
    .action(async (file: string, options: ProtectOptions) => {
      const backupPassphrase = await readSecret(context.io, 'CLINPROMPT_BACKUP_PASSPHRASE', 'Backup passphrase');
      const protect = await protectFromOptions(context, options);
      const { store: restored, result } = await restoreStore(
        file,
        context.dataDir,
        backupPassphrase,
        protect,
        cliActor(context.io),
        cliStoreOptions(context.io),
      );
      context.adoptStore(restored);
      context.output.result(
        result,
        (r) => `Restored the store into ${r.home} (schema ${r.schemaVersion}, ${r.blobFiles} blob files).`,
      );
    });
};

/** The store's current protections, for a rotation: same kinds, the passphrase possibly new. */
async function sameProtections(
  context: CommandContext,
  opened: Store,
  passphraseUsed: string | undefined,
): Promise<WrapMethods> {
  const slot = opened.keyring.current;
  const own = wrappersOf(slot, opened.actor);
  const kinds = new Set(own.map((w) => w.kind));
  if (kinds.has('safe-storage')) {
    throw new UserError(
      'UNSUPPORTED',
      'This store is protected by the desktop app (safeStorage); rotate its key from the app.',
    );
  }
  const newPassphrase = takeSecretVariable(context.io, 'CLINPROMPT_NEW_PASSPHRASE');
  let passphrase: string | undefined;
  if (kinds.has('passphrase')) {
    if (newPassphrase !== undefined) passphrase = newPassphrase;
    else if (passphraseUsed !== undefined) passphrase = passphraseUsed;
    else {
      // unlocked by the keychain: check the passphrase before re-protecting the key with it
      passphrase = await readPassphrase(context.io);
      const onlyPassphrase = { ...slot, wrappers: own.filter((w) => w.kind === 'passphrase') };
      wipe(await unwrapKey(onlyPassphrase, opened.storeId, { passphrase, user: opened.actor }));
    }
  }
  return {
    ...(kinds.has('keychain') ? { keychain: await loadKeytar() } : {}),
    ...(passphrase !== undefined ? { passphrase } : {}),
  };
}
