import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { UserError } from '../../../src-main/common/errors.js';
import { attachAuditKey, openAuditKey, prepareAuditKeyRotation } from '../../../src-main/store/audit-key.js';
import { generateDataKey, keyFingerprint } from '../../../src-main/store/keys/data-key.js';
import { readKeyring, wrapKey, writeKeyring } from '../../../src-main/store/keys/keyring.js';
import { DEFAULT_SCRYPT } from '../../../src-main/store/keys/passphrase.js';
import { LATEST_VERSION, migrate, MIGRATIONS } from '../../../src-main/store/migrations.js';
import { openEncryptedDatabase } from '../../../src-main/store/sqlite.js';
import { initStore, openStore, storePaths, type Store } from '../../../src-main/store/store.js';
import { FAST_SCRYPT, PASSPHRASE, PLANTED_PHI, tempDir, type TempDir } from './helpers.js';

const code = (c: string) => expect.objectContaining({ code: c }) as UserError;

async function newStore(home: string, passphrase = PASSPHRASE): Promise<Store> {
  return initStore(home, { protect: { passphrase, scrypt: FAST_SCRYPT }, admin: { username: 'admin' } });
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir))
    if (name !== 'blobs') out[name] = readFileSync(`${dir}/${name}`).toString('base64');
  return out;
}

describe('store lifecycle', () => {
  let tmp: TempDir;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('keeps a planted note out of the database file, WAL and keyring in the clear', async () => {
    const store = await newStore(tmp.dir);
    store.notes.importNotes('ward-7', [{ externalId: 'n1', text: PLANTED_PHI }], 'admin');
    const paths = store.paths;
    const keyHex = Buffer.from(store.exportKey().toString('hex'));
    // read the files while the connection is open (WAL holds the fresh pages) and after closing
    const check = () => {
      for (const name of readdirSync(paths.dir)) {
        if (name === 'blobs') continue;
        const bytes = readFileSync(`${paths.dir}/${name}`);
        expect(bytes.includes(Buffer.from('Zebulon')), name).toBe(false);
        expect(bytes.includes(Buffer.from('99417723')), name).toBe(false);
        expect(bytes.includes(keyHex), name).toBe(false);
      }
    };
    check();
    store.close();
    check();
    // SQLCipher layout: the file starts with a random salt, not SQLite's plaintext magic
    expect(readFileSync(paths.dbFile).subarray(0, 16).toString('latin1')).not.toBe('SQLite format 3\0');
    const reopened = await openStore(tmp.dir, { user: 'admin', passphrase: PASSPHRASE });
    expect(reopened.notes.list('ward-7')[0]?.text).toBe(PLANTED_PHI);
    reopened.close();
  });

  it('reports status and writes the documented scrypt cost by default', async () => {
    const store = await initStore(tmp.dir, { protect: { passphrase: PASSPHRASE }, admin: { username: 'admin' } });
    const status = store.status();
    expect(status).toMatchObject({
      protections: ['passphrase'],
      journalMode: 'wal',
      counts: { users: 1, auditEntries: 1, notes: 0 },
    });
    expect(status.schemaVersion).toBe(status.latestSchemaVersion);
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.db.pragma('temp_store', { simple: true })).toBe(2); // MEMORY
    expect(store.db.pragma('secure_delete', { simple: true })).toBe(1);
    const wrapper = store.keyring.current.wrappers[0];
    expect(wrapper?.kind === 'passphrase' && wrapper.kdf).toMatchObject({ name: 'scrypt', ...DEFAULT_SCRYPT });
    store.close();
  }, 60_000); // one real derivation at the default cost (~1-2 s alone, more on a busy CI machine)

  it('fails cleanly on a wrong passphrase and leaves every file byte-identical', async () => {
    (await newStore(tmp.dir)).close();
    const dir = storePaths(tmp.dir).dir;
    const before = snapshot(dir);
    await expect(openStore(tmp.dir, { user: 'admin', passphrase: 'not the passphrase at all' })).rejects.toThrow(
      code('WRONG_KEY'),
    );
    await expect(openStore(tmp.dir, { user: 'admin' })).rejects.toThrow(code('LOCKED'));
    // the store's files are untouched; only the failed attempt is counted beside them (no secret in it)
    const { 'unlock-failures.json': failures, ...after } = snapshot(dir);
    expect(after).toEqual(before);
    expect(JSON.parse(Buffer.from(failures ?? '', 'base64').toString())).toMatchObject({
      admin: { count: 1, audited: 0 },
    });
  });

  it('fails cleanly on a wrong raw key and never creates a database over an existing one', async () => {
    (await newStore(tmp.dir)).close();
    const { dbFile, dir } = storePaths(tmp.dir);
    const before = snapshot(dir);
    expect(() => openEncryptedDatabase(dbFile, generateDataKey(), { create: false })).toThrow(code('WRONG_KEY'));
    expect(() => openEncryptedDatabase(dbFile, generateDataKey(), { create: true })).toThrow(code('ALREADY_EXISTS'));
    await expect(newStore(tmp.dir)).rejects.toThrow(code('ALREADY_EXISTS'));
    expect(snapshot(dir)).toEqual(before);
  });

  it('names the problem when the keyring exists without a database', async () => {
    (await newStore(tmp.dir)).close();
    rmSync(storePaths(tmp.dir).dbFile);
    await expect(openStore(tmp.dir, { user: 'admin', passphrase: PASSPHRASE })).rejects.toThrow(
      /exists but the database/,
    );
    await expect(newStore(tmp.dir)).rejects.toThrow(code('ALREADY_EXISTS'));
  });

  it('rotates the data key without losing data; the old key no longer opens the file', async () => {
    const store = await newStore(tmp.dir);
    store.notes.importNotes('c', [{ text: PLANTED_PHI }], 'admin');
    store.datasets.importDataset({ name: 'd', taskType: 'nli', sourceFormat: 'jsonl', labelSet: [] }, [
      { split: 'train', input: { premise: 'p', hypothesis: 'h' }, target: 'entailment', labels: ['entailment'] },
    ]);
    const big = Buffer.alloc(600_000, 7);
    const blob = store.blobs.put('checkpoint', big);
    const oldKey = store.exportKey();
    const session = store.session('admin');
    const slot = await store.rotateKey({ passphrase: 'a brand new passphrase', scrypt: FAST_SCRYPT }, session);
    expect(slot.fingerprint).not.toBe(keyFingerprint(oldKey));
    expect(store.notes.list('c')).toHaveLength(1);
    store.close();

    expect(() => openEncryptedDatabase(storePaths(tmp.dir).dbFile, oldKey, { create: false })).toThrow(
      code('WRONG_KEY'),
    );
    await expect(openStore(tmp.dir, { user: 'admin', passphrase: PASSPHRASE })).rejects.toThrow(code('WRONG_KEY'));
    const reopened = await openStore(tmp.dir, { user: 'admin', passphrase: 'a brand new passphrase' });
    expect(reopened.notes.list('c')[0]?.text).toBe(PLANTED_PHI);
    expect(reopened.datasets.get('d').counts.total).toBe(1);
    expect(reopened.blobs.get(blob.id).equals(big)).toBe(true);
    expect(reopened.keyring.pending).toBeUndefined();
    expect(reopened.audit.recent(5).map((e) => e.action)).toContain('store.rekey');
    expect(reopened.audit.verify().ok).toBe(true);
    reopened.close();
  });

  it('finishes a rotation interrupted after the database was re-encrypted, and drops one that never reached it', async () => {
    const store = await newStore(tmp.dir);
    store.notes.importNotes('c', [{ text: 'x' }], 'admin');
    const { keyringFile, dbFile } = store.paths;
    const oldKey = store.exportKey();
    store.close();
    // Replay rotateKey's steps up to a crash: the pending slot is written first.
    const keyring = readKeyring(keyringFile);
    const newKey = generateDataKey();
    const pending = await wrapKey(newKey, keyring.storeId, { passphrase: PASSPHRASE, scrypt: FAST_SCRYPT });
    writeKeyring(keyringFile, { ...keyring, pending });

    // crash before the database changed: the old key still opens it and the pending slot is dropped
    (await openStore(tmp.dir, { user: 'admin', passphrase: PASSPHRASE })).close();
    expect(readKeyring(keyringFile).pending).toBeUndefined();

    // crash after PRAGMA rekey but before the final keyring write: the pending key is adopted
    writeKeyring(keyringFile, { ...keyring, pending });
    const db = openEncryptedDatabase(dbFile, oldKey, { create: false });
    attachAuditKey(db, openAuditKey(db, oldKey));
    prepareAuditKeyRotation(db, newKey);
    db.pragma('journal_mode = DELETE');
    db.pragma(`rekey="x'${newKey.toString('hex')}'"`);
    db.close();

    const recovered = await openStore(tmp.dir, { user: 'admin', passphrase: PASSPHRASE });
    expect(recovered.keyring.current.fingerprint).toBe(keyFingerprint(newKey));
    expect(readKeyring(keyringFile).pending).toBeUndefined();
    expect(recovered.notes.list('c')).toHaveLength(1);
    expect(recovered.audit.recent(1)[0]?.action).toBe('store.rekey.recovered');
    expect(recovered.audit.verify()).toMatchObject({ ok: true }); // the audit key came along under the new key
    recovered.close();
  });

  it("admits only informatics-admins with an older store's shared credential, until an admin retires it", async () => {
    const store = await newStore(tmp.dir);
    store.users.add('ana', 'clinician');
    const key = store.exportKey();
    const { keyringFile } = store.paths;
    store.close();
    // the keyring an older ClinPrompt wrote: one passphrase, no owner
    const keyring = readKeyring(keyringFile);
    writeKeyring(keyringFile, {
      ...keyring,
      current: await wrapKey(key, keyring.storeId, { passphrase: PASSPHRASE, scrypt: FAST_SCRYPT }),
    });
    await expect(openStore(tmp.dir, { user: 'ana', passphrase: PASSPHRASE })).rejects.toThrow(
      expect.objectContaining({
        code: 'PERMISSION_DENIED',
        message: expect.stringMatching(/ana.*may not unlock with the shared credential of an older store/),
      }) as UserError,
    );
    const admin = await openStore(tmp.dir, { user: 'admin', passphrase: PASSPHRASE });
    expect(admin.audit.recent(1)[0]).toMatchObject({ username: 'ana', action: 'permission.denied' });
    await admin.setCredential(
      'admin',
      { passphrase: 'the admin now has her own', scrypt: FAST_SCRYPT },
      admin.session(),
    );
    expect(readKeyring(keyringFile).current.wrappers.map((w) => [w.kind, w.user])).toEqual([['passphrase', 'admin']]);
    await admin.setCredential('ana', { passphrase: 'and ana has her own too', scrypt: FAST_SCRYPT }, admin.session());
    admin.close();
    await expect(openStore(tmp.dir, { user: 'admin', passphrase: PASSPHRASE })).rejects.toThrow(code('WRONG_KEY'));
    const ana = await openStore(tmp.dir, { user: 'ana', passphrase: 'and ana has her own too' });
    expect(() => ana.session('admin')).toThrow(/unlocked by "ana"; "admin" must unlock it with their own credential/);
    await expect(ana.setCredential('admin', { passphrase: 'ana tries to reset admin' }, ana.session())).rejects.toThrow(
      code('PERMISSION_DENIED'),
    );
    ana.close();
  });

  it('refuses to rotate the key while another connection is open, and stays on the old key', async () => {
    const store = await newStore(tmp.dir);
    const other = openEncryptedDatabase(store.paths.dbFile, store.exportKey(), { create: false });
    other.prepare('SELECT count(*) FROM users').get();
    await expect(
      store.rotateKey({ passphrase: PASSPHRASE, scrypt: FAST_SCRYPT }, store.session('admin')),
    ).rejects.toThrow(code('LOCKED'));
    other.close();
    expect(readKeyring(store.paths.keyringFile).pending).toBeUndefined();
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    store.close();
    (await openStore(tmp.dir, { user: 'admin', passphrase: PASSPHRASE })).close();
  });

  it('changes the passphrase without rewriting the database', async () => {
    const store = await newStore(tmp.dir);
    const dbBytes = () => readFileSync(store.paths.dbFile);
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    const before = dbBytes();
    await store.changeProtection(
      { passphrase: 'another long passphrase', scrypt: FAST_SCRYPT },
      store.session('admin'),
    );
    store.close();
    expect(dbBytes().subarray(0, 4096).equals(before.subarray(0, 4096))).toBe(true);
    await expect(openStore(tmp.dir, { user: 'admin', passphrase: PASSPHRASE })).rejects.toThrow(code('WRONG_KEY'));
    (await openStore(tmp.dir, { user: 'admin', passphrase: 'another long passphrase' })).close();
  });

  it('refuses a short new passphrase, naming the rule but not the passphrase', async () => {
    const error = await newStore(tmp.dir, 'hunter2').catch((e: unknown) => e as UserError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((error as UserError).message).toMatch(/at least 12 characters/);
    expect((error as UserError).message).not.toContain('hunter2');
    expect(existsSync(storePaths(tmp.dir).keyringFile)).toBe(false);
  });

  it('upgrades a store written by an older version on open, and audits the migration', async () => {
    const paths = storePaths(tmp.dir);
    mkdirSync(paths.dir, { recursive: true });
    const key = generateDataKey();
    const old = openEncryptedDatabase(paths.dbFile, key, { create: true });
    migrate(old, MIGRATIONS.slice(0, 1)); // schema version 1: meta, users, audit only
    old
      .prepare(
        `INSERT INTO users (username, display_name, role, created_at) VALUES ('admin', 'A', 'informatics-admin', 'then')`,
      )
      .run();
    old.close();
    const storeId = 'old0store0id';
    writeKeyring(paths.keyringFile, {
      format: 'clinprompt-keyring',
      version: 1,
      storeId,
      createdAt: 'then',
      current: await wrapKey(key, storeId, { passphrase: PASSPHRASE, scrypt: FAST_SCRYPT }),
    });

    const store = await openStore(tmp.dir, { user: 'admin', passphrase: PASSPHRASE });
    expect(store.status()).toMatchObject({ schemaVersion: LATEST_VERSION, counts: { users: 1 } });
    expect(store.audit.recent(1)[0]).toMatchObject({
      action: 'store.migrate',
      details: { from: 1, to: LATEST_VERSION },
    });
    store.notes.importNotes('c', [{ text: 'works on the upgraded schema' }], 'admin');
    store.close();
  });

  it('checks the first admin name before writing anything', async () => {
    await expect(
      initStore(tmp.dir, {
        protect: { passphrase: PASSPHRASE, scrypt: FAST_SCRYPT },
        admin: { username: 'not valid' },
      }),
    ).rejects.toThrow(/not a valid username/);
    expect(existsSync(storePaths(tmp.dir).keyringFile)).toBe(false);
    (await newStore(tmp.dir)).close(); // and init can simply be run again
  });

  it('locks itself after inactivity: database closed, key wiped, clear LOCKED error', async () => {
    let locked = 0;
    const store = await initStore(tmp.dir, {
      protect: { passphrase: PASSPHRASE, scrypt: FAST_SCRYPT },
      admin: { username: 'admin' },
      autoLockMs: 150,
      onDidLock: () => (locked += 1),
    });
    await new Promise((r) => setTimeout(r, 100));
    store.users.list(); // activity postpones the lock
    await new Promise((r) => setTimeout(r, 100));
    expect(store.locked).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    expect(store.locked).toBe(true);
    expect(locked).toBe(1);
    expect(() => store.users.list()).toThrow(code('LOCKED'));
    expect(() => store.exportKey()).toThrow(code('LOCKED'));
  });
});
