import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { log } from '../../../src-main/common/log.js';
import { createDispatcher } from '../../../src-main/ipc/dispatcher.js';
import type { StoreState } from '../../../src-main/ipc/contract.js';
import { createServices, type ServiceOptions } from '../../../src-main/services/index.js';
import { storePaths } from '../../../src-main/store/store.js';
import { malformedConll, ncbiDiseaseSlice } from '../../support/data-slices.js';
import { safeStorageDouble } from '../../support/safe-storage-double.js';
import { makeTempDir } from '../../support/temp.js';

// The app's store lifecycle through the IPC contract, on real encrypted SQLite files.
const FAST_SCRYPT = { N: 2 ** 14, r: 8, p: 1 };
const PASSPHRASE = 'correct horse battery staple';
const USER = 'dr.ada';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setUpServices(store: ServiceOptions['store'] = {}, dataDir?: string) {
  const home = dataDir ? { dir: dataDir } : makeTempDir();
  if ('cleanup' in home) cleanups.push(home.cleanup);
  const services = createServices({
    dataDir: home.dir,
    store: { username: USER, scrypt: FAST_SCRYPT, ...store },
  });
  cleanups.push(() => services.dispose());
  const dispatcher = createDispatcher(services.handlers);
  /** Calls a request as the renderer would: through the validating dispatcher. */
  const call = async (name: string, ...args: unknown[]) => dispatcher.invoke(name, args);
  return { services, home: home.dir, call };
}

function value<T>(envelope: { ok: boolean; value?: unknown; error?: unknown }): T {
  if (!envelope.ok) throw new Error(`request failed: ${JSON.stringify(envelope.error)}`);
  return envelope.value as T;
}

describe('store service: first run, unlock, lock', () => {
  it('asks for a passphrase where no keychain or safeStorage is usable, and sets the store up with it', async () => {
    const { call, home, services } = setUpServices();
    const absent = value<StoreState>(await call('store.getStatus'));
    expect(absent).toMatchObject({ state: 'absent', username: USER, protections: [], dataDir: home });
    expect(absent.automaticProtection).toBeUndefined();
    expect(absent.passphraseReason).toMatch(/passphrase/);

    // Without a passphrase there is nothing to protect the key with: a clear error, nothing written.
    const refused = await call('store.setUp', {});
    expect(refused).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(JSON.stringify(refused)).toMatch(/Choose a passphrase \(at least 12 characters\)/);
    expect(existsSync(storePaths(home).dir)).toBe(false);

    const short = await call('store.setUp', { passphrase: 'short' });
    expect(short).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', message: /too short/ } });

    const ready = value<StoreState>(await call('store.setUp', { passphrase: PASSPHRASE }));
    expect(ready).toMatchObject({ state: 'unlocked', role: 'informatics-admin', protections: ['passphrase'] });
    expect(existsSync(storePaths(home).dbFile)).toBe(true);
    // The passphrase never lands on disk in the clear.
    for (const file of readdirSync(storePaths(home).dir).filter((f) => f.endsWith('.json') || f.endsWith('.db'))) {
      expect(readFileSync(path.join(storePaths(home).dir, file)).includes(PASSPHRASE)).toBe(false);
    }
    const again = await call('store.setUp', { passphrase: PASSPHRASE });
    expect(again).toMatchObject({ ok: false, error: { code: 'ALREADY_EXISTS' } });
    await services.store.use((store) => expect(store.users.find(USER)?.role).toBe('informatics-admin'));
  });

  it('locks, refuses a wrong passphrase with WRONG_KEY, unlocks with the right one, and audits both', async () => {
    const { call, services } = setUpServices();
    value(await call('store.setUp', { passphrase: PASSPHRASE }));
    const locks: string[] = [];
    services.subscribe((name, payload) => locks.push(`${name}:${JSON.stringify(payload)}`));

    expect(value<StoreState>(await call('store.lock'))).toMatchObject({
      state: 'locked',
      unlocksWithoutPassphrase: false,
    });
    expect(locks).toEqual(['store.onDidLock:{"reason":"request"}']);
    expect(await call('datasets.list')).toMatchObject({ ok: false, error: { code: 'LOCKED' } });

    expect(await call('store.unlock', {})).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT', message: /protected by a passphrase/ },
    });
    const wrong = await call('store.unlock', { passphrase: 'not the right passphrase' });
    expect(wrong).toEqual({
      ok: false,
      error: { code: 'WRONG_KEY', message: 'Wrong passphrase for this store. Nothing was changed; try again.' },
    });
    expect(value<StoreState>(await call('store.getStatus')).state).toBe('locked');

    expect(value<StoreState>(await call('store.unlock', { passphrase: PASSPHRASE }))).toMatchObject({
      state: 'unlocked',
      role: 'informatics-admin',
    });
    const actions = await services.store.use((store) =>
      store.audit
        .recent()
        .map((e) => e.action)
        .reverse(),
    );
    // the wrong passphrase is counted, and audited when the right one unlocks
    expect(actions).toEqual(['store.init', 'store.lock', 'unlock.failed', 'store.unlock']);
  });

  it('locks itself after inactivity and tells the renderer', async () => {
    const { call, services } = setUpServices({ autoLockMs: 400 });
    value(await call('store.setUp', { passphrase: PASSPHRASE }));
    const locked = new Promise<unknown>((resolve) =>
      services.subscribe((name, payload) => name === 'store.onDidLock' && resolve(payload)),
    );
    expect(value<StoreState>(await call('store.getStatus')).autoLockSeconds).toBe(0);
    await expect(locked).resolves.toEqual({ reason: 'inactivity' });
    expect(value<StoreState>(await call('store.getStatus')).state).toBe('locked');
    expect(await call('datasets.list')).toMatchObject({ ok: false, error: { code: 'LOCKED' } });
    expect(value<StoreState>(await call('store.unlock', { passphrase: PASSPHRASE })).state).toBe('unlocked');
  });

  it('after an automatic lock asks for the passphrase again, even where safeStorage could unlock alone', async () => {
    const { call, services } = setUpServices({ autoLockMs: 600, safeStorage: safeStorageDouble('gnome_libsecret') });
    value(await call('store.setUp', { passphrase: PASSPHRASE }));
    await expect.poll(async () => (await services.store.status()).state, { timeout: 5_000 }).toBe('locked');
    expect(value<StoreState>(await call('store.getStatus'))).toMatchObject({
      protections: ['safe-storage', 'passphrase'],
      unlocksWithoutPassphrase: false,
    });
    expect(await call('store.unlock', {})).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT', message: /locked itself after inactivity. Enter your passphrase/ },
    });
    expect(value<StoreState>(await call('store.unlock', { passphrase: PASSPHRASE })).state).toBe('unlocked');
    // a lock on request is not an absence: one click opens it again
    expect(value<StoreState>(await call('store.lock')).unlocksWithoutPassphrase).toBe(true);
    expect(value<StoreState>(await call('store.unlock', {})).state).toBe('unlocked');
  });

  it('does not lock under long work (a large import being read), and locks once it is done', async () => {
    const { call, services } = setUpServices({ autoLockMs: 400 });
    value(await call('store.setUp', { passphrase: PASSPHRASE }));
    const states = await services.store.use(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1_200)); // three idle periods
      return (await services.store.status()).state;
    });
    expect(states).toBe('unlocked');
    await expect.poll(async () => (await services.store.status()).state, { timeout: 3_000 }).toBe('locked');
  });

  it('refuses a workstation login that is not a user of the store, and stays locked', async () => {
    const first = setUpServices();
    value(await first.call('store.setUp', { passphrase: PASSPHRASE }));
    await first.services.dispose();
    const other = setUpServices({ username: 'someone.else' }, first.home);
    expect(value<StoreState>(await other.call('store.getStatus'))).toMatchObject({ state: 'locked' });
    // the first user's passphrase does not make someone else that user, nor a user at all
    const refused = await other.call('store.unlock', { passphrase: PASSPHRASE });
    expect(refused).toMatchObject({
      ok: false,
      error: { code: 'LOCKED', message: /^"someone\.else" has no credential for this store/ },
    });
    expect(value<StoreState>(await other.call('store.getStatus')).state).toBe('locked');
  });

  it('protects a new store with safeStorage when its backend encrypts, and unlocks without a passphrase', async () => {
    const safeStorage = safeStorageDouble('gnome_libsecret');
    const { call, services } = setUpServices({ safeStorage });
    expect(value<StoreState>(await call('store.getStatus'))).toMatchObject({
      state: 'absent',
      automaticProtection: 'safe-storage',
    });
    // a passphrase is set too: the one thing an idle lock can ask for
    expect(await call('store.setUp', {})).toMatchObject({
      ok: false,
      error: {
        code: 'INVALID_ARGUMENT',
        field: 'passphrase',
        message: /Choose a passphrase \(at least 12 characters\) as well: after inactivity the store asks for it/,
      },
    });
    expect(value<StoreState>(await call('store.setUp', { passphrase: PASSPHRASE }))).toMatchObject({
      state: 'unlocked',
      protections: ['safe-storage', 'passphrase'],
    });
    value(await call('store.lock'));
    expect(value<StoreState>(await call('store.getStatus'))).toMatchObject({
      state: 'locked',
      unlocksWithoutPassphrase: true,
    });
    expect(value<StoreState>(await call('store.unlock', {})).state).toBe('unlocked');
    await services.dispose();
  });

  it('refuses safeStorage on the unencrypted basic_text backend and asks for a passphrase', async () => {
    const { call } = setUpServices({ safeStorage: safeStorageDouble('basic_text') });
    const status = value<StoreState>(await call('store.getStatus'));
    expect(status.automaticProtection).toBeUndefined();
    expect(status.passphraseReason).toMatch(/basic_text/);
    expect(await call('store.setUp', {})).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
  });
});

describe('store service: datasets', () => {
  it('counts typing and clicks reported by the app (store.noteActivity) as activity, and locks once they stop', async () => {
    const { call, services } = setUpServices({ autoLockMs: 600 });
    value(await call('store.setUp', { passphrase: PASSPHRASE }));
    for (let i = 0; i < 8; i++) {
      // 1.6 s in all, well past the idle time, with a report a third of it apart
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(value(await call('store.noteActivity'))).toEqual({ counted: true });
    }
    expect((await services.store.status()).state).toBe('unlocked');
    await expect.poll(async () => (await services.store.status()).state, { timeout: 3_000 }).toBe('locked');
    // a report after the lock opens nothing
    expect(value(await call('store.noteActivity'))).toEqual({ counted: false });
    expect((await services.store.status()).state).toBe('locked');
  });

  it('imports a CoNLL slice into the store and lists its counts per split and label', async () => {
    const { call, home } = setUpServices();
    value(await call('store.setUp', { passphrase: PASSPHRASE }));
    const folder = ncbiDiseaseSlice(home);
    const imported = value<{ counts: Record<string, number>; labelSet: string[] }>(
      await call('datasets.import', { format: 'conll', path: folder, task: 'ner', name: 'ncbi slice' }),
    );
    expect(imported.labelSet).toEqual(['Disease']);
    expect(imported.counts.train).toBeGreaterThan(5);
    expect(imported.counts.dev).toBeGreaterThan(5);
    expect(imported.counts.test).toBeGreaterThan(5);
    const listed = value<{ name: string; counts: unknown; labelCounts: Record<string, Record<string, number>> }[]>(
      await call('datasets.list'),
    );
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ name: 'ncbi slice', counts: imported.counts });
    expect(listed[0]?.labelCounts['train']?.['Disease']).toBeGreaterThan(0);
    // The listing carries no note text: no token of the slice's first sentence appears in it.
    expect(JSON.stringify(listed)).not.toMatch(/Identification|APC2/);

    const duplicate = await call('datasets.import', { format: 'conll', path: folder, task: 'ner', name: 'ncbi slice' });
    expect(duplicate).toMatchObject({ ok: false, error: { code: 'ALREADY_EXISTS' } });
  });

  it('names the file and line of a malformed file, and imports nothing', async () => {
    const { call, home } = setUpServices();
    value(await call('store.setUp', { passphrase: PASSPHRASE }));
    const file = malformedConll(home, 7);
    const failed = await call('datasets.import', { format: 'conll', path: file, task: 'ner', name: 'broken' });
    expect(failed).toMatchObject({ ok: false, error: { code: 'BAD_FILE' } });
    expect(JSON.stringify(failed)).toContain(`${file}, line 7`);
    expect(value<unknown[]>(await call('datasets.list'))).toEqual([]);
  });

  it('validates import arguments in the contract and lists the public source tasks', async () => {
    const { call } = setUpServices();
    const bad = await call('datasets.import', { format: 'docx', path: '', task: 'ner', name: '../x' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(JSON.stringify(bad)).toMatch(/format/);
    const catalogue = value<{ name: string; format: string }[]>(await call('datasets.catalogue'));
    expect(catalogue.find((t) => t.name === 'ncbi-disease')).toMatchObject({ format: 'conll', task: 'ner' });
  });

  it('answers dialogs.pickPath with UNSUPPORTED where there is no file chooser', async () => {
    const { call } = setUpServices();
    expect(await call('dialogs.pickPath', { kind: 'file' })).toMatchObject({
      ok: false,
      error: { code: 'UNSUPPORTED', message: /type the path/ },
    });
  });

  it('keeps planted note text out of what the renderer and the logs see of failed imports', async () => {
    const PHI = 'Zebulon Quixotic-Marchetti MRN 99417723';
    const lines: string[] = [];
    const restore = log.setSink((line) => lines.push(line));
    log.setLevel('debug');
    cleanups.push(() => {
      log.setSink(restore);
      log.setLevel('warn');
    });
    const { call, home } = setUpServices();
    value(await call('store.setUp', { passphrase: PASSPHRASE }));
    const sources = {
      conll: ['bad.tsv', `${PHI}\n`],
      jsonl: ['bad.jsonl', `{"text": "${PHI}", "label": \n`],
      csv: ['bad.csv', `text,label\n"${PHI},yes\n`],
    } as const;
    const replies: string[] = [];
    for (const [format, [name, body]] of Object.entries(sources)) {
      const file = path.join(home, name);
      writeFileSync(file, body);
      const task = format === 'conll' ? 'ner' : 'nli';
      const reply = await call('datasets.import', { format, path: file, task, name: `bad-${format}` });
      expect(reply, format).toMatchObject({ ok: false });
      replies.push(JSON.stringify(reply));
    }
    for (const text of [...replies, ...lines]) {
      expect(text).not.toMatch(/Quixotic|99417723/);
    }
    expect(value<unknown[]>(await call('datasets.list'))).toEqual([]);
  });
});
