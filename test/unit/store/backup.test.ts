import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { UserError } from '../../../src-main/common/errors.js';
import { backupStore, restoreStore } from '../../../src-main/store/backup.js';
import { keyFingerprint } from '../../../src-main/store/keys/data-key.js';
import { deriveKek, newScryptParams } from '../../../src-main/store/keys/passphrase.js';
import { CHUNK_BYTES, SealedWriter } from '../../../src-main/store/sealed-file.js';
import { StoreSession } from '../../../src-main/store/session.js';
import { initStore, openStore, storePaths, type Store } from '../../../src-main/store/store.js';
import { FAST_SCRYPT, PASSPHRASE, PLANTED_PHI, tempDir, type TempDir } from './helpers.js';

const BACKUP_PASSPHRASE = 'the backup passphrase, kept apart';
const code = (c: string) => expect.objectContaining({ code: c }) as UserError;

describe('encrypted backup and restore', () => {
  let tmp: TempDir;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  async function storeWithData(home: string) {
    const store = await initStore(home, {
      protect: { passphrase: PASSPHRASE, scrypt: FAST_SCRYPT },
      admin: { username: 'admin' },
    });
    store.users.add('ana', 'clinician');
    store.notes.importNotes('ward', [{ externalId: 'n1', text: PLANTED_PHI }], 'ana');
    const weights = Buffer.alloc(700_000);
    for (let i = 0; i < weights.length; i++) weights[i] = (i * 31) % 251;
    store.prompts.save({ name: 'ner-mpt', method: 'mpt', backboneFingerprint: 'abc', taskTypes: ['ner'] }, weights);
    return { store, weights };
  }

  it('round-trips notes, users, prompts with file blobs and the audit chain into a new home', async () => {
    const { store, weights } = await storeWithData(`${tmp.dir}/a`);
    const file = `${tmp.dir}/backup.cpbak`;
    const result = await backupStore(store, store.session('admin'), file, BACKUP_PASSPHRASE, FAST_SCRYPT);
    expect(result).toMatchObject({ file, blobFiles: 1 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(store.audit.recent(1)[0]).toMatchObject({ action: 'store.backup', details: { file, blobFiles: 1 } });
    const originalId = store.storeId;
    store.close();
    const bytes = readFileSync(file);
    expect(bytes.includes(Buffer.from('Zebulon'))).toBe(false);
    expect(readdirSync(path.join(tmp.dir, 'a', 'store')).some((n) => n.startsWith('.backup-'))).toBe(false);

    const { store: restored } = await restoreStore(
      file,
      `${tmp.dir}/b`,
      BACKUP_PASSPHRASE,
      {
        passphrase: 'passphrase of the new machine',
        scrypt: FAST_SCRYPT,
      },
      'admin',
    );
    expect(restored.storeId).not.toBe(originalId); // its keychain entries can never collide with the original's
    expect(restored.audit.recent(1)[0]?.details).toMatchObject({ fromStoreId: originalId, blobFiles: 1 });
    restored.close();
    const reopened = await openStore(`${tmp.dir}/b`, { user: 'admin', passphrase: 'passphrase of the new machine' });
    expect(reopened.notes.list('ward')[0]?.text).toBe(PLANTED_PHI);
    expect(reopened.users.list().map((u) => u.username)).toEqual(['admin', 'ana']);
    const prompt = reopened.prompts.list()[0];
    expect(prompt && reopened.prompts.weights(prompt.id).equals(weights)).toBe(true);
    expect(reopened.audit.verify().ok).toBe(true);
    // the snapshot predates its own 'store.backup' entry; the restore is the newest entry
    expect(reopened.audit.recent(2).map((e) => e.action)).toEqual(['store.restore', 'store.init']);
    reopened.close();
  });

  it('fails cleanly on a wrong backup passphrase and a damaged file, leaving the target empty', async () => {
    const { store } = await storeWithData(`${tmp.dir}/a`);
    const file = `${tmp.dir}/backup.cpbak`;
    await backupStore(store, store.session('admin'), file, BACKUP_PASSPHRASE, FAST_SCRYPT);
    store.close();
    const target = `${tmp.dir}/b`;
    const protect = { passphrase: 'passphrase of the new machine', scrypt: FAST_SCRYPT };
    await expect(restoreStore(file, target, 'a wrong backup passphrase', protect, 'admin')).rejects.toThrow(
      code('WRONG_KEY'),
    );
    expect(existsSync(target) ? readdirSync(target) : []).toEqual([]);

    const damaged = readFileSync(file);
    damaged[damaged.length - 100] = (damaged[damaged.length - 100] ?? 0) ^ 0xff;
    writeFileSync(`${tmp.dir}/damaged.cpbak`, damaged);
    await expect(restoreStore(`${tmp.dir}/damaged.cpbak`, target, BACKUP_PASSPHRASE, protect, 'admin')).rejects.toThrow(
      code('BAD_FILE'),
    );
    expect(existsSync(target) ? readdirSync(target) : []).toEqual([]);
    expect(existsSync(storePaths(target).dbFile)).toBe(false);
  });

  it('still restores a version-1 backup (key in the manifest, no header checksum)', async () => {
    const { store } = await storeWithData(`${tmp.dir}/a`);
    const snapshot = `${tmp.dir}/snapshot.db`;
    store.db.prepare('VACUUM INTO ?').run(snapshot);
    const dataKey = store.exportKey();
    const blobIds = store.blobs.fileBlobIds();
    const kdf = newScryptParams(FAST_SCRYPT);
    const header = Buffer.from(
      JSON.stringify({
        format: 'clinprompt-backup',
        version: 1,
        createdAt: new Date().toISOString(),
        storeId: store.storeId,
        schemaVersion: 4,
        kdf,
      }),
    );
    const kek = await deriveKek(BACKUP_PASSPHRASE, kdf);
    const file = `${tmp.dir}/v1.cpbak`;
    const fd = openSync(file, 'wx');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(header.length);
    writeSync(fd, Buffer.concat([Buffer.from('CLINBKUP'), length, header]));
    const writer = new SealedWriter(
      fd,
      kek,
      `clinprompt-backup-v1|${createHash('sha256').update(header).digest('hex')}`,
    );
    const entry = (name: string, data?: Buffer) => {
      const n = Buffer.from(name);
      const head = Buffer.alloc(4);
      head.writeUInt32BE(n.length);
      writer.write(Buffer.concat([head, n]));
      if (data === undefined) return;
      const size = Buffer.alloc(8);
      size.writeBigUInt64BE(BigInt(data.length));
      writer.write(Buffer.concat([size, data]));
    };
    const manifest = {
      dataKey: dataKey.toString('hex'),
      fingerprint: keyFingerprint(dataKey),
      blobFiles: blobIds.map((id) => `${id}.blob`),
    };
    entry('manifest.json', Buffer.from(JSON.stringify(manifest)));
    entry('store.db', readFileSync(snapshot));
    for (const id of blobIds) entry(`blobs/${id}.blob`, readFileSync(store.blobs.fileFor(id)));
    entry('');
    writer.end();
    closeSync(fd);
    store.close();
    const { store: restored } = await restoreStore(
      file,
      `${tmp.dir}/b`,
      BACKUP_PASSPHRASE,
      {
        passphrase: PASSPHRASE,
        scrypt: FAST_SCRYPT,
      },
      'admin',
    );
    expect(restored.notes.list('ward')[0]?.text).toBe(PLANTED_PHI);
    restored.close();
    await expect(
      restoreStore(file, `${tmp.dir}/c`, 'a wrong backup passphrase', { passphrase: PASSPHRASE }, 'admin'),
    ).rejects.toThrow(code('WRONG_KEY'));
  });

  it('refuses to overwrite an existing backup file or an existing store', async () => {
    const { store } = await storeWithData(`${tmp.dir}/a`);
    const file = `${tmp.dir}/backup.cpbak`;
    await backupStore(store, store.session('admin'), file, BACKUP_PASSPHRASE, FAST_SCRYPT);
    await expect(backupStore(store, store.session('admin'), file, BACKUP_PASSPHRASE, FAST_SCRYPT)).rejects.toThrow(
      code('ALREADY_EXISTS'),
    );
    store.users.add('cy', 'clinician');
    await expect(
      backupStore(store, new StoreSession(store.users.get('cy'), () => store.db), `${tmp.dir}/x`, BACKUP_PASSPHRASE),
    ).rejects.toThrow(code('PERMISSION_DENIED'));
    store.close();
    await expect(
      restoreStore(file, `${tmp.dir}/a`, BACKUP_PASSPHRASE, { passphrase: PASSPHRASE }, 'admin'),
    ).rejects.toThrow(code('ALREADY_EXISTS'));
  });
});

/** Where the sealed chunks of a version-2 backup start: magic, header length, header, checksum, seal header. */
function chunkOffset(file: Buffer, chunk: number): number {
  const headerLength = file.readUInt32BE(8);
  const sealedStart = 8 + 4 + headerLength + 32 + 9;
  return sealedStart + chunk * (4 + CHUNK_BYTES + 16);
}

describe('backups of several MiB and 100k rows', () => {
  const tmp = tempDir('clinprompt-backup-large-');
  const file = `${tmp.dir}/large.cpbak`;
  const protect = { passphrase: 'passphrase of the new machine', scrypt: FAST_SCRYPT };
  let before: ReturnType<Store['status']>['counts'];
  let weights: Buffer;
  let bytes: Buffer;
  let restores = 0;
  const target = () => `${tmp.dir}/restore-${(restores += 1)}`;

  /** Restores a copy of the backup altered by `damage` and returns the error (the target must stay empty). */
  async function restoreDamaged(damage: (copy: Buffer) => Buffer): Promise<UserError> {
    const damagedFile = `${tmp.dir}/damaged-${restores}.cpbak`;
    writeFileSync(damagedFile, damage(Buffer.from(bytes)));
    const home = target();
    const error = await restoreStore(damagedFile, home, BACKUP_PASSPHRASE, protect, 'admin').then(
      () => undefined,
      (e: unknown) => e as UserError,
    );
    expect(error, 'the damaged backup restored').toBeDefined();
    expect(existsSync(home) ? readdirSync(home) : []).toEqual([]);
    return error as UserError;
  }

  beforeAll(async () => {
    const store = await initStore(`${tmp.dir}/source`, {
      protect: { passphrase: PASSPHRASE, scrypt: FAST_SCRYPT },
      admin: { username: 'admin' },
    });
    store.users.add('ana', 'clinician');
    const notes = Array.from({ length: 100_000 }, (_, i) => ({
      externalId: `n${i}`,
      text: `note ${i} ${PLANTED_PHI}`,
    }));
    store.notes.importNotes('ward', notes, 'ana');
    weights = randomBytes(3 * 1024 * 1024 + 12_345); // a multi-chunk blob file of its own
    store.prompts.save({ name: 'ner-mpt', method: 'mpt', backboneFingerprint: 'abc', taskTypes: ['ner'] }, weights);
    before = store.status().counts;
    await backupStore(store, store.session('admin'), file, BACKUP_PASSPHRASE, FAST_SCRYPT);
    store.close();
    bytes = readFileSync(file);
  }, 120_000);
  afterAll(() => tmp.cleanup());

  it('round-trips with identical counts, note text and blob bytes', async () => {
    expect(bytes.length).toBeGreaterThan(8 * CHUNK_BYTES); // many chunks, not one
    expect(before.notes).toBe(100_000);
    const home = target();
    const { store: restored } = await restoreStore(file, home, BACKUP_PASSPHRASE, protect, 'admin');
    restored.close();
    const reopened = await openStore(home, { user: 'admin', passphrase: protect.passphrase });
    try {
      const after = reopened.status().counts;
      // the snapshot predates the source's 'store.backup' entry; the restore adds 'store.restore'
      expect(after).toEqual({ ...before, auditEntries: before.auditEntries + 1 });
      const last = reopened.db.prepare(`SELECT text FROM notes WHERE external_id = 'n99999'`).pluck().get();
      expect(last).toBe(`note 99999 ${PLANTED_PHI}`);
      const prompt = reopened.prompts.list()[0];
      expect(prompt && reopened.prompts.weights(prompt.id).equals(weights)).toBe(true);
      expect(reopened.audit.verify().ok).toBe(true);
    } finally {
      reopened.close();
    }
  }, 120_000);

  it('names the damaged chunk for a flipped byte anywhere in the stream, never a wrong passphrase', async () => {
    const lastChunk = Math.floor((bytes.length - chunkOffset(bytes, 0)) / (4 + CHUNK_BYTES + 16));
    for (const chunk of [0, 1, 5, lastChunk]) {
      const error = await restoreDamaged((copy) => {
        const at = chunkOffset(copy, chunk) + 4; // the chunk's first ciphertext byte (or its tag, if empty)
        copy[at] = (copy[at] ?? 0) ^ 0x01;
        return copy;
      });
      expect(error.code, `chunk ${chunk}`).toBe('BAD_FILE');
      expect(error.message).toMatch(
        new RegExp(
          `^The backup .*damaged-\\d+\\.cpbak is damaged: chunk ${chunk} \\(at byte ${chunkOffset(bytes, chunk)}\\) did not authenticate`,
        ),
      );
      expect(error.message).toMatch(/Nothing was restored/);
      expect(error.message).not.toMatch(/passphrase/i);
    }
  }, 120_000);

  it('names the chunk where a truncated backup ends, and refuses bytes appended after its end', async () => {
    const cutInside = await restoreDamaged((copy) => copy.subarray(0, chunkOffset(copy, 3) + 500));
    expect(cutInside.code).toBe('BAD_FILE');
    expect(cutInside.message).toMatch(/is damaged: chunk 3 \(at byte \d+\) is cut short \(the file was truncated\)/);
    const cutAtBoundary = await restoreDamaged((copy) => copy.subarray(0, chunkOffset(copy, 6)));
    expect(cutAtBoundary.message).toMatch(/is damaged: chunk 6 .*is cut short/);
    const appended = await restoreDamaged((copy) => Buffer.concat([copy, Buffer.from('extra')]));
    expect(appended.code).toBe('BAD_FILE');
    expect(appended.message).toMatch(/is damaged: chunk \d+ .*is followed by unexpected bytes/);
  }, 120_000);

  it('tells a damaged header and a wrong passphrase apart', async () => {
    const header = await restoreDamaged((copy) => {
      const at = copy.indexOf('"storeId":"') + '"storeId":"'.length; // still valid JSON, another store id
      copy[at] = copy[at] === 0x61 ? 0x62 : 0x61;
      return copy;
    });
    expect(header.code).toBe('BAD_FILE');
    expect(header.message).toMatch(/is damaged: its header does not match its checksum/);
    const unreadable = await restoreDamaged((copy) => {
      copy[12] = 0x00; // the header's opening brace
      return copy;
    });
    expect(unreadable).toMatchObject({ code: 'BAD_FILE', message: expect.stringMatching(/its header is unreadable/) });
    const home = target();
    const wrong = await restoreStore(file, home, 'not the backup passphrase', protect, 'admin').catch(
      (e: unknown) => e as UserError,
    );
    expect(wrong).toMatchObject({
      code: 'WRONG_KEY',
      message: expect.stringMatching(/^Wrong passphrase for the backup/),
    });
    expect(existsSync(home) ? readdirSync(home) : []).toEqual([]);
  });
});
