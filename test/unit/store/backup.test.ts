import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { UserError } from '../../../src-main/common/errors.js';
import { backupStore, restoreStore } from '../../../src-main/store/backup.js';
import { initStore, openStore, storePaths } from '../../../src-main/store/store.js';
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
    expect(store.audit.recent(1)[0]?.action).toBe('store.backup');
    const originalId = store.storeId;
    store.close();
    const bytes = readFileSync(file);
    expect(bytes.includes(Buffer.from('Zebulon'))).toBe(false);
    expect(readdirSync(path.join(tmp.dir, 'a', 'store')).some((n) => n.startsWith('.backup-'))).toBe(false);

    const { store: restored } = await restoreStore(file, `${tmp.dir}/b`, BACKUP_PASSPHRASE, {
      passphrase: 'passphrase of the new machine',
      scrypt: FAST_SCRYPT,
    });
    expect(restored.storeId).not.toBe(originalId); // its keychain entries can never collide with the original's
    expect(restored.audit.recent(1)[0]?.details).toMatchObject({ fromStoreId: originalId, blobFiles: 1 });
    restored.close();
    const reopened = await openStore(`${tmp.dir}/b`, { passphrase: 'passphrase of the new machine' });
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
    await expect(restoreStore(file, target, 'a wrong backup passphrase', protect)).rejects.toThrow(code('WRONG_KEY'));
    expect(existsSync(target) ? readdirSync(target) : []).toEqual([]);

    const damaged = readFileSync(file);
    damaged[damaged.length - 100] = (damaged[damaged.length - 100] ?? 0) ^ 0xff;
    writeFileSync(`${tmp.dir}/damaged.cpbak`, damaged);
    await expect(restoreStore(`${tmp.dir}/damaged.cpbak`, target, BACKUP_PASSPHRASE, protect)).rejects.toThrow();
    expect(existsSync(target) ? readdirSync(target) : []).toEqual([]);
    expect(existsSync(storePaths(target).dbFile)).toBe(false);
  });

  it('refuses to overwrite an existing backup file or an existing store', async () => {
    const { store } = await storeWithData(`${tmp.dir}/a`);
    const file = `${tmp.dir}/backup.cpbak`;
    await backupStore(store, store.session('admin'), file, BACKUP_PASSPHRASE, FAST_SCRYPT);
    await expect(backupStore(store, store.session('admin'), file, BACKUP_PASSPHRASE, FAST_SCRYPT)).rejects.toThrow(
      code('ALREADY_EXISTS'),
    );
    store.users.add('cy', 'clinician');
    await expect(backupStore(store, store.session('cy'), `${tmp.dir}/x`, BACKUP_PASSPHRASE)).rejects.toThrow(
      code('PERMISSION_DENIED'),
    );
    store.close();
    await expect(restoreStore(file, `${tmp.dir}/a`, BACKUP_PASSPHRASE, { passphrase: PASSPHRASE })).rejects.toThrow(
      code('ALREADY_EXISTS'),
    );
  });
});
