/**
 * Encrypted backup and restore of a whole store: the database (a consistent snapshot taken with
 * VACUUM INTO, itself still encrypted with the data key), the sealed blob files, and the data key,
 * all inside one file sealed with a key derived from a backup passphrase (scrypt, as for the store).
 * A backup is therefore usable on another machine with the backup passphrase alone, and useless
 * without it.
 *
 * Layout (version 2): "CLINBKUP" | header length (u32 BE) | header JSON (format, kdf, ids, a check
 * value of the backup key; no secrets) | SHA-256 of everything before it | sealed stream
 * (sealed-file.ts; its context binds the header) of entries name length (u32) | name | size (u64) |
 * bytes: manifest.json, data.key (raw), store.db, blobs/*, ending with an empty name.
 * The checksum and the key check tell the three failures apart: a damaged header, a wrong
 * passphrase (the check value differs), and a damaged chunk N (the key is right, the chunk does not
 * authenticate). Version 1 files (no checksum or check value, the key in the manifest) still restore.
 *
 * Restore writes into a staging folder next to the target and renames it into place only after the
 * database opened with the key and passed integrity_check: a wrong passphrase or a damaged file
 * leaves the target folder untouched.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

import { UserError } from '../common/errors.js';
import { writeAuditedExport } from './audited-export.js';
import { DATA_KEY_BYTES, keyFingerprint, wipe } from './keys/data-key.js';
import { fsyncDir } from './atomic-file.js';
import { newKeyring, writeKeyring, type WrapMethods } from './keys/keyring.js';
import { checkNewPassphrase, deriveKek, newScryptParams, type ScryptParams } from './keys/passphrase.js';
import { schemaVersion } from './migrations.js';
import { BlobStore } from './repositories/blobs.js';
import { SealedFileError, SealedReader, SealedWriter } from './sealed-file.js';
import type { StoreSession } from './session.js';
import { integrityCheck, openEncryptedDatabase } from './sqlite.js';
import { Store, storePaths, SYSTEM_ACTOR, type StoreOptions } from './store.js';

const MAGIC = Buffer.from('CLINBKUP', 'ascii');
const FORMAT_VERSION = 2;
const CHECKSUM_BYTES = 32;
const COPY_BYTES = 1024 * 1024;

interface BackupHeader {
  readonly format: 'clinprompt-backup';
  readonly version: 1 | 2;
  readonly createdAt: string;
  readonly storeId: string;
  readonly schemaVersion: number;
  readonly kdf: ScryptParams;
  /** Version 2: the backup key's public fingerprint, so a wrong passphrase is told apart from damage. */
  readonly keyCheck?: string;
}

interface BackupManifest {
  /** Version 1 only: the data key in hex (version 2 keeps it out of JSON, in the data.key entry). */
  readonly dataKey?: string;
  readonly fingerprint: string;
  readonly blobFiles: readonly string[];
}

export interface BackupResult {
  readonly file: string;
  readonly bytes: number;
  readonly blobFiles: number;
  readonly createdAt: string;
}

export interface RestoreResult {
  readonly home: string;
  readonly storeId: string;
  readonly schemaVersion: number;
  readonly blobFiles: number;
}

const contextFor = (headerJson: Buffer) =>
  `clinprompt-backup-v1|${createHash('sha256').update(headerJson).digest('hex')}`;

/** Writes an encrypted backup of `store` to `target` (which must not exist yet). */
export async function backupStore(
  store: Store,
  by: StoreSession,
  target: string,
  passphrase: string,
  scrypt?: { N: number; r: number; p: number },
): Promise<BackupResult> {
  by.require('store.admin', 'back up the store');
  checkNewPassphrase(passphrase);
  const file = path.resolve(target);
  if (existsSync(file)) throw new UserError('ALREADY_EXISTS', `${file} already exists; choose a new backup file name.`);
  const db = store.db;
  const kdf = newScryptParams(scrypt);
  const kek = await deriveKek(passphrase, kdf);
  const header: BackupHeader = {
    format: 'clinprompt-backup',
    version: FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    storeId: store.storeId,
    schemaVersion: schemaVersion(db),
    kdf,
    keyCheck: keyFingerprint(kek),
  };
  const headerJson = Buffer.from(JSON.stringify(header));
  const dataKey = store.exportKey();
  const snapshot = path.join(store.paths.dir, `.backup-${randomBytes(6).toString('hex')}.db`);
  try {
    // A consistent copy while others keep working; SQLite3MC encrypts it with the same key.
    db.prepare('VACUUM INTO ?').run(snapshot);
    const blobFiles = blobFilesOf(snapshot, dataKey);
    const record = { details: { blobFiles: blobFiles.length } };
    await writeAuditedExport(
      { session: by, permission: 'store.admin', action: 'store.backup', target: file, record },
      (temp) => {
        const fd = openSync(temp, 'r+');
        try {
          const length = Buffer.alloc(4);
          length.writeUInt32BE(headerJson.length);
          const prefix = Buffer.concat([MAGIC, length, headerJson]);
          writeSync(fd, Buffer.concat([prefix, createHash('sha256').update(prefix).digest()]));
          const writer = new SealedWriter(fd, kek, contextFor(headerJson));
          const manifest: BackupManifest = { fingerprint: keyFingerprint(dataKey), blobFiles };
          writeEntry(writer, 'manifest.json', Buffer.from(JSON.stringify(manifest)));
          writeEntry(writer, 'data.key', dataKey); // raw bytes: the key never becomes a JSON string
          copyFileEntry(writer, 'store.db', snapshot);
          for (const name of blobFiles) copyFileEntry(writer, `blobs/${name}`, path.join(store.paths.blobsDir, name));
          writeEntryName(writer, '');
          writer.end();
        } finally {
          closeSync(fd);
        }
      },
    );
    return { file, bytes: statSync(file).size, blobFiles: blobFiles.length, createdAt: header.createdAt };
  } finally {
    rmSync(snapshot, { force: true });
    wipe(kek);
    wipe(dataKey);
  }
}

/**
 * Restores a backup into `home`, which must not hold a store, as `admin`: an active
 * informatics-admin of the backed-up store, whose new credential `protect` (this machine's
 * passphrase / keychain) is the restored store's only one. Everyone else is given a credential
 * again with `users passphrase` (credentials belong to a machine's keyring, not to the backup).
 * Returns the opened store.
 */
export async function restoreStore(
  backupFile: string,
  home: string,
  backupPassphrase: string,
  protect: WrapMethods,
  admin: string,
  options: StoreOptions = {},
): Promise<{ store: Store; result: RestoreResult }> {
  const paths = storePaths(home);
  if (existsSync(paths.dbFile) || existsSync(paths.keyringFile)) {
    throw new UserError('ALREADY_EXISTS', `${paths.dir} already holds a store; restore into an empty CLINPROMPT_HOME.`);
  }
  const fd = openBackup(backupFile);
  const staging = path.join(paths.home, `.store-restoring-${randomBytes(6).toString('hex')}`);
  let dataKey: Buffer | undefined;
  try {
    const { header, headerJson, start } = readHeader(fd, backupFile);
    const kek = await deriveKek(backupPassphrase, header.kdf);
    let blobFiles: readonly string[];
    try {
      if (header.keyCheck !== undefined && keyFingerprint(kek) !== header.keyCheck) throw wrongPassphrase(backupFile);
      mkdirSync(path.join(staging, 'blobs'), { recursive: true, mode: 0o700 });
      const reader = new SealedReader(fd, kek, contextFor(headerJson), start);
      ({ dataKey, blobFiles } = unpack(reader, header, backupFile, staging));
    } catch (error) {
      if (!(error instanceof SealedFileError)) throw error;
      // Without a check value (version 1) a first chunk that does not open means a wrong passphrase in practice.
      if (header.keyCheck === undefined && error.chunkIndex === 0 && error.damage === 'unauthentic') {
        throw wrongPassphrase(backupFile);
      }
      throw damaged(backupFile, error.where);
    } finally {
      wipe(kek); // only now: the reader decrypts every chunk with it
    }

    const stagedDb = path.join(staging, path.basename(paths.dbFile));
    const db = openEncryptedDatabase(stagedDb, dataKey, { create: false });
    try {
      const restorer = db.prepare('SELECT role, disabled FROM users WHERE username = ?').get(admin) as
        { role: string; disabled: number } | undefined;
      if (restorer?.role !== 'informatics-admin' || restorer.disabled !== 0) {
        throw new UserError(
          'PERMISSION_DENIED',
          `"${admin}" is not an active informatics-admin of the backed-up store; restore it as one ` +
            '(CLINPROMPT_USER). Nothing was restored.',
        );
      }
      const problems = integrityCheck(db);
      if (problems.join() !== 'ok')
        throw damaged(backupFile, `its database fails SQLite's integrity check (${problems.length} problems)`);
    } finally {
      db.close();
    }
    // A new store id: the original store may live on this machine too, and keychain entries are named by id.
    const keyring = await newKeyring(dataKey, protect, admin);
    writeKeyring(path.join(staging, path.basename(paths.keyringFile)), keyring);
    if (existsSync(paths.dir)) rmdirSync(paths.dir); // only an empty leftover folder; rmdir refuses anything else
    renameSync(staging, paths.dir);
    fsyncDir(paths.home);

    const store = new Store(
      paths,
      keyring,
      openEncryptedDatabase(paths.dbFile, dataKey, { create: false }),
      dataKey,
      admin,
      options,
    );
    dataKey = undefined; // owned by the store now
    store.migrateSchema();
    const audit = store.audit;
    audit.append({
      ...SYSTEM_ACTOR,
      action: 'store.restore',
      details: { backupCreatedAt: header.createdAt, fromStoreId: header.storeId, blobFiles: blobFiles.length },
    });
    audit.startCheckpoints();
    return {
      store,
      result: {
        home: paths.home,
        storeId: keyring.storeId,
        schemaVersion: schemaVersion(store.db),
        blobFiles: blobFiles.length,
      },
    };
  } finally {
    closeSync(fd);
    wipe(dataKey);
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Reads every entry of the sealed stream into `staging`; returns the data key and the blob file names. */
function unpack(
  reader: SealedReader,
  header: BackupHeader,
  file: string,
  staging: string,
): { dataKey: Buffer; blobFiles: readonly string[] } {
  const manifest = parseManifest(readEntry(reader, 'manifest.json', file), file);
  const dataKey =
    header.version === 1 ? Buffer.from(manifest.dataKey ?? '', 'hex') : readEntry(reader, 'data.key', file);
  try {
    if (dataKey.length !== DATA_KEY_BYTES || keyFingerprint(dataKey) !== manifest.fingerprint) {
      throw damaged(file, 'its data key does not match its manifest');
    }
    readFileEntry(reader, 'store.db', path.join(staging, 'clinprompt.db'), file);
    for (const name of manifest.blobFiles) {
      if (!/^[0-9a-f-]+\.blob$/i.test(name)) throw damaged(file, 'its manifest names an invalid blob file');
      readFileEntry(reader, `blobs/${name}`, path.join(staging, 'blobs', name), file);
    }
    if (readEntryName(reader, file) !== '') throw damaged(file, 'it has entries after its last one');
    reader.end();
    return { dataKey, blobFiles: manifest.blobFiles };
  } catch (error) {
    wipe(dataKey);
    throw error;
  }
}

function parseManifest(bytes: Buffer, file: string): BackupManifest {
  try {
    const manifest = JSON.parse(bytes.toString('utf8')) as Partial<BackupManifest>;
    if (typeof manifest.fingerprint === 'string' && Array.isArray(manifest.blobFiles))
      return manifest as BackupManifest;
  } catch {
    // falls through to the damaged-file error
  }
  throw damaged(file, 'its manifest is unreadable');
}

/** The blob files the snapshot refers to (not the live store's: it may have changed since). */
function blobFilesOf(snapshot: string, dataKey: Buffer): string[] {
  const db = openEncryptedDatabase(snapshot, dataKey, { create: false, readonly: true });
  try {
    return new BlobStore(db, '').fileBlobIds().map((id) => `${id}.blob`);
  } finally {
    db.close();
  }
}

const damaged = (file: string, where: string) =>
  new UserError(
    'BAD_FILE',
    `The backup ${file} is damaged: ${where}. Nothing was restored; use another copy of the backup.`,
  );

const wrongPassphrase = (file: string) =>
  new UserError(
    'WRONG_KEY',
    `Wrong passphrase for the backup ${file} (CLINPROMPT_BACKUP_PASSPHRASE). Nothing was restored; try again.`,
  );

function openBackup(file: string): number {
  try {
    return openSync(file, 'r');
  } catch {
    throw new UserError('NOT_FOUND', `Cannot read the backup file ${file}.`);
  }
}

function readHeader(fd: number, file: string): { header: BackupHeader; headerJson: Buffer; start: number } {
  const prefix = Buffer.alloc(MAGIC.length + 4);
  if (readSync(fd, prefix, 0, prefix.length, 0) < prefix.length || !prefix.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new UserError('BAD_FILE', `${file} is not a ClinPrompt backup.`);
  }
  const length = prefix.readUInt32BE(MAGIC.length);
  const headerJson = Buffer.alloc(length);
  if (length > 64 * 1024 || readSync(fd, headerJson, 0, length, prefix.length) < length) {
    throw damaged(file, 'its header is cut short or has a bad length');
  }
  let header: BackupHeader;
  try {
    header = JSON.parse(headerJson.toString('utf8')) as BackupHeader;
  } catch {
    throw damaged(file, 'its header is unreadable');
  }
  if (header.format !== 'clinprompt-backup' || (header.version !== 1 && header.version !== FORMAT_VERSION)) {
    throw new UserError('UNSUPPORTED', `${file} is a backup format this ClinPrompt does not know; update ClinPrompt.`);
  }
  let start = prefix.length + length;
  if (header.version >= 2) {
    const checksum = Buffer.alloc(CHECKSUM_BYTES);
    const expected = createHash('sha256').update(prefix).update(headerJson).digest();
    if (readSync(fd, checksum, 0, CHECKSUM_BYTES, start) < CHECKSUM_BYTES || !checksum.equals(expected)) {
      throw damaged(file, 'its header does not match its checksum');
    }
    start += CHECKSUM_BYTES;
  }
  return { header, headerJson, start };
}

function writeEntryName(writer: SealedWriter, name: string): void {
  const bytes = Buffer.from(name, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  writer.write(Buffer.concat([length, bytes]));
}

function writeEntrySize(writer: SealedWriter, name: string, size: number): void {
  writeEntryName(writer, name);
  const sizeBytes = Buffer.alloc(8);
  sizeBytes.writeBigUInt64BE(BigInt(size));
  writer.write(sizeBytes);
}

function writeEntry(writer: SealedWriter, name: string, data: Buffer): void {
  writeEntrySize(writer, name, data.length);
  writer.write(data);
}

function copyFileEntry(writer: SealedWriter, name: string, file: string): void {
  const size = statSync(file).size;
  writeEntrySize(writer, name, size);
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(COPY_BYTES);
    for (let offset = 0; offset < size;) {
      const read = readSync(fd, buffer, 0, Math.min(COPY_BYTES, size - offset), offset);
      writer.write(Buffer.from(buffer.subarray(0, read)));
      offset += read;
    }
  } finally {
    closeSync(fd);
  }
}

function readEntryName(reader: SealedReader, file: string): string {
  const length = reader.read(4).readUInt32BE(0);
  if (length > 4096) throw damaged(file, 'an entry has a bad name');
  return reader.read(length).toString('utf8');
}

function readEntryHeader(reader: SealedReader, expected: string, file: string): number {
  const name = readEntryName(reader, file);
  if (name !== expected) throw damaged(file, `expected the entry ${expected}, found another`);
  return Number(reader.read(8).readBigUInt64BE(0));
}

function readEntry(reader: SealedReader, expected: string, file: string): Buffer {
  return Buffer.from(reader.read(readEntryHeader(reader, expected, file)));
}

function readFileEntry(reader: SealedReader, expected: string, target: string, file: string): void {
  const size = readEntryHeader(reader, expected, file);
  const fd = openSync(target, 'wx', 0o600);
  try {
    for (let left = size; left > 0;) {
      const piece = reader.read(Math.min(COPY_BYTES, left));
      writeSync(fd, piece);
      left -= piece.length;
    }
  } finally {
    closeSync(fd);
  }
}
