/**
 * Encrypted backup and restore of a whole store: the database (a consistent snapshot taken with
 * VACUUM INTO, itself still encrypted with the data key), the sealed blob files, and the data key,
 * all inside one file sealed with a key derived from a backup passphrase (scrypt, as for the store).
 * A backup is therefore usable on another machine with the backup passphrase alone, and useless
 * without it.
 *
 * Layout: "CLINBKUP" | header length (u32 BE) | header JSON (format, kdf, ids; no secrets) |
 * sealed stream (sealed-file.ts; its context binds the header) of entries
 * name length (u32) | name | size (u64) | bytes, ending with an empty name.
 *
 * Restore writes into a staging folder next to the target and renames it into place only after the
 * database opened with the key and passed integrity_check: a wrong passphrase or a damaged file
 * leaves the target folder untouched.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

import { UserError } from '../common/errors.js';
import { keyFingerprint, wipe } from './keys/data-key.js';
import { fsyncDir, newKeyring, writeKeyring, type WrapMethods } from './keys/keyring.js';
import { checkNewPassphrase, deriveKek, newScryptParams, type ScryptParams } from './keys/passphrase.js';
import { schemaVersion } from './migrations.js';
import { BlobStore } from './repositories/blobs.js';
import { SealedFileError, SealedReader, SealedWriter } from './sealed-file.js';
import type { StoreSession } from './session.js';
import { integrityCheck, openEncryptedDatabase } from './sqlite.js';
import { Store, storePaths, SYSTEM_ACTOR, type StoreOptions } from './store.js';

const MAGIC = Buffer.from('CLINBKUP', 'ascii');
const COPY_BYTES = 1024 * 1024;

interface BackupHeader {
  readonly format: 'clinprompt-backup';
  readonly version: 1;
  readonly createdAt: string;
  readonly storeId: string;
  readonly schemaVersion: number;
  readonly kdf: ScryptParams;
}

interface BackupManifest {
  readonly dataKey: string; // hex: the store's data key, protected by the backup's outer encryption
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
  const header: BackupHeader = {
    format: 'clinprompt-backup',
    version: 1,
    createdAt: new Date().toISOString(),
    storeId: store.storeId,
    schemaVersion: schemaVersion(db),
    kdf: newScryptParams(scrypt),
  };
  const headerJson = Buffer.from(JSON.stringify(header));
  const kek = await deriveKek(passphrase, header.kdf);
  const dataKey = store.exportKey();
  const snapshot = path.join(store.paths.dir, `.backup-${randomBytes(6).toString('hex')}.db`);
  const temp = `${file}.${process.pid}.tmp`;
  try {
    // A consistent copy while others keep working; SQLite3MC encrypts it with the same key.
    db.prepare('VACUUM INTO ?').run(snapshot);
    const blobFiles = blobFilesOf(snapshot, dataKey);
    const fd = openSync(temp, 'wx', 0o600);
    try {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(headerJson.length);
      writeSync(fd, Buffer.concat([MAGIC, length, headerJson]));
      const writer = new SealedWriter(fd, kek, contextFor(headerJson));
      const manifest: BackupManifest = {
        dataKey: dataKey.toString('hex'),
        fingerprint: keyFingerprint(dataKey),
        blobFiles,
      };
      writeEntry(writer, 'manifest.json', Buffer.from(JSON.stringify(manifest)));
      copyFileEntry(writer, 'store.db', snapshot);
      for (const name of blobFiles) copyFileEntry(writer, `blobs/${name}`, path.join(store.paths.blobsDir, name));
      writeEntryName(writer, '');
      writer.end();
    } finally {
      closeSync(fd);
    }
    linkSync(temp, file); // fails if `file` appeared meanwhile: never overwrite
    unlinkSync(temp);
    fsyncDir(path.dirname(file));
    by.record('store.admin', 'store.backup', { details: { bytes: statSync(file).size, blobFiles: blobFiles.length } });
    return { file, bytes: statSync(file).size, blobFiles: blobFiles.length, createdAt: header.createdAt };
  } finally {
    rmSync(snapshot, { force: true });
    rmSync(temp, { force: true });
    wipe(kek);
    wipe(dataKey);
  }
}

/**
 * Restores a backup into `home`, which must not hold a store, protecting the restored data key
 * with `protect` (this machine's passphrase / keychain). Returns the opened store.
 */
export async function restoreStore(
  backupFile: string,
  home: string,
  backupPassphrase: string,
  protect: WrapMethods,
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
    const reader = new SealedReader(fd, kek, contextFor(headerJson), start);
    let manifest: BackupManifest;
    try {
      manifest = JSON.parse(readEntry(reader, 'manifest.json').toString('utf8')) as BackupManifest;
    } catch (error) {
      if (error instanceof SealedFileError && error.chunkIndex === 0) {
        throw new UserError('WRONG_KEY', `Wrong passphrase for the backup ${backupFile}. Nothing was restored.`);
      }
      throw error;
    } finally {
      wipe(kek);
    }
    dataKey = Buffer.from(manifest.dataKey, 'hex');
    if (keyFingerprint(dataKey) !== manifest.fingerprint) throw damaged(backupFile);

    mkdirSync(path.join(staging, 'blobs'), { recursive: true, mode: 0o700 });
    const stagedDb = path.join(staging, path.basename(paths.dbFile));
    readFileEntry(reader, 'store.db', stagedDb);
    for (const name of manifest.blobFiles) readFileEntry(reader, `blobs/${name}`, path.join(staging, 'blobs', name));
    if (readEntryName(reader) !== '') throw damaged(backupFile);
    reader.end();

    const db = openEncryptedDatabase(stagedDb, dataKey, { create: false });
    try {
      if (integrityCheck(db).join() !== 'ok') throw damaged(backupFile);
    } finally {
      db.close();
    }
    // A new store id: the original store may live on this machine too, and keychain entries are named by id.
    const keyring = await newKeyring(dataKey, protect);
    writeKeyring(path.join(staging, path.basename(paths.keyringFile)), keyring);
    if (existsSync(paths.dir)) rmdirSync(paths.dir); // only an empty leftover folder; rmdir refuses anything else
    renameSync(staging, paths.dir);
    fsyncDir(paths.home);

    const store = new Store(
      paths,
      keyring,
      openEncryptedDatabase(paths.dbFile, dataKey, { create: false }),
      dataKey,
      options,
    );
    dataKey = undefined; // owned by the store now
    store.migrateSchema();
    store.audit.append({
      ...SYSTEM_ACTOR,
      action: 'store.restore',
      details: { backupCreatedAt: header.createdAt, fromStoreId: header.storeId, blobFiles: manifest.blobFiles.length },
    });
    return {
      store,
      result: {
        home: paths.home,
        storeId: keyring.storeId,
        schemaVersion: schemaVersion(store.db),
        blobFiles: manifest.blobFiles.length,
      },
    };
  } finally {
    closeSync(fd);
    wipe(dataKey);
    rmSync(staging, { recursive: true, force: true });
  }
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

const damaged = (file: string) =>
  new UserError('BAD_FILE', `The backup ${file} is damaged or incomplete. Nothing was restored.`);

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
  if (length > 64 * 1024 || readSync(fd, headerJson, 0, length, prefix.length) < length) throw damaged(file);
  let header: BackupHeader;
  try {
    header = JSON.parse(headerJson.toString('utf8')) as BackupHeader;
  } catch {
    throw damaged(file);
  }
  if (header.format !== 'clinprompt-backup' || header.version !== 1) {
    throw new UserError('UNSUPPORTED', `${file} is a backup format this ClinPrompt does not know; update ClinPrompt.`);
  }
  return { header, headerJson, start: prefix.length + length };
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

function readEntryName(reader: SealedReader): string {
  const length = reader.read(4).readUInt32BE(0);
  if (length > 4096) throw new UserError('BAD_FILE', 'The backup is damaged (bad entry name).');
  return reader.read(length).toString('utf8');
}

function readEntryHeader(reader: SealedReader, expected: string): number {
  const name = readEntryName(reader);
  if (name !== expected) throw new UserError('BAD_FILE', `The backup is damaged: expected ${expected}, found ${name}.`);
  return Number(reader.read(8).readBigUInt64BE(0));
}

function readEntry(reader: SealedReader, expected: string): Buffer {
  return Buffer.from(reader.read(readEntryHeader(reader, expected)));
}

function readFileEntry(reader: SealedReader, expected: string, file: string): void {
  const size = readEntryHeader(reader, expected);
  const fd = openSync(file, 'wx', 0o600);
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
