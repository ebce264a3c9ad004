import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { writeAuditedExport } from '../../../src-main/store/audited-export.js';
import { ownerOnlyAclArgs, restrictToOwner } from '../../../src-main/store/owner-only.js';
import { StoreSession } from '../../../src-main/store/session.js';
import { initStore, type Store } from '../../../src-main/store/store.js';
import { FAST_SCRYPT, PASSPHRASE, PLANTED_PHI, tempDir, type TempDir } from './helpers.js';

const mode = (file: string) => statSync(file).mode & 0o777;

describe('audited exports', () => {
  let tmp: TempDir;
  let store: Store;
  beforeEach(async () => {
    tmp = tempDir();
    store = await initStore(`${tmp.dir}/home`, {
      protect: { passphrase: PASSPHRASE, scrypt: FAST_SCRYPT },
      admin: { username: 'admin' },
    });
  });
  afterEach(() => {
    store.close();
    tmp.cleanup();
  });
  const request = (target: string, folder = false) => ({
    session: store.session('admin'),
    permission: 'datasets.import' as const,
    action: 'datasets.export',
    target,
    record: { objectType: 'dataset', objectIds: [7], details: { format: 'jsonl' } },
    folder,
  });

  it('commits the audit entry before the first byte, writes owner-only, and renames into place', async () => {
    const target = `${tmp.dir}/out.jsonl`;
    const seen = await writeAuditedExport(request(target), (temp) => {
      const entry = store.audit.recent(1)[0];
      const before = { action: entry?.action, details: entry?.details, size: statSync(temp).size, mode: mode(temp) };
      writeFileSync(temp, PLANTED_PHI);
      return { ...before, targetExists: existsSync(target), tempDir: path.dirname(temp) };
    });
    expect(seen).toEqual({
      action: 'datasets.export',
      details: { format: 'jsonl', file: target },
      size: 0,
      mode: 0o600,
      targetExists: false,
      tempDir: tmp.dir,
    });
    expect(readFileSync(target, 'utf8')).toBe(PLANTED_PHI);
    expect(mode(target)).toBe(0o600);
    expect(readdirSync(tmp.dir).sort()).toEqual(['home', 'out.jsonl']);
    expect(store.audit.verify().ok).toBe(true);
  });

  it('a folder export (BRAT) is created 0700 and renamed into place', async () => {
    const target = `${tmp.dir}/brat`;
    await writeAuditedExport(request(target, true), (temp) =>
      writeFileSync(path.join(temp, 'a.txt'), 'x', { mode: 0o600 }),
    );
    expect(mode(target)).toBe(0o700);
    expect(readdirSync(target)).toEqual(['a.txt']);
  });

  it('a failing write leaves no file, and the failure is audited after the attempt', async () => {
    const target = `${tmp.dir}/out.jsonl`;
    await expect(
      writeAuditedExport(request(target), (temp) => {
        writeFileSync(temp, PLANTED_PHI);
        throw new Error('disk trouble');
      }),
    ).rejects.toThrow('disk trouble');
    expect(readdirSync(tmp.dir)).toEqual(['home']);
    expect(store.audit.recent(2).map((e) => [e.action, e.details])).toEqual([
      ['datasets.export.failed', { file: target, error: 'INTERNAL' }],
      ['datasets.export', { format: 'jsonl', file: target }],
    ]);
  });

  it('refuses an existing target and a person without the permission, writing nothing', async () => {
    writeFileSync(`${tmp.dir}/taken.jsonl`, 'mine');
    const never = () => {
      throw new Error('must not be called');
    };
    await expect(writeAuditedExport(request(`${tmp.dir}/taken.jsonl`), never)).rejects.toThrow(
      expect.objectContaining({ code: 'ALREADY_EXISTS' }) as Error,
    );
    store.users.add('ana', 'annotator');
    await expect(
      writeAuditedExport(
        { ...request(`${tmp.dir}/new.jsonl`), session: new StoreSession(store.users.get('ana'), () => store.db) },
        never,
      ),
    ).rejects.toThrow(expect.objectContaining({ code: 'PERMISSION_DENIED' }) as Error);
    expect(readdirSync(tmp.dir).sort()).toEqual(['home', 'taken.jsonl']);
    expect(readFileSync(`${tmp.dir}/taken.jsonl`, 'utf8')).toBe('mine');
  });
});

describe('owner-only ACLs on Windows (icacls; only the arguments can be checked here)', () => {
  it("removes inherited entries and grants the account alone full control, inherited by a folder's files", () => {
    expect(ownerOnlyAclArgs('C:\\out\\x.jsonl', 'WARD\\ana', false)).toEqual([
      'C:\\out\\x.jsonl',
      '/inheritance:r',
      '/grant:r',
      'WARD\\ana:F',
    ]);
    expect(ownerOnlyAclArgs('C:\\out\\brat', 'WARD\\ana', true).at(-1)).toBe('WARD\\ana:(OI)(CI)F');
  });

  it('on POSIX leaves the creation mode in charge and runs nothing', () => {
    const tmp = tempDir();
    try {
      const file = path.join(tmp.dir, 'x');
      writeFileSync(file, '', { mode: 0o600 });
      restrictToOwner(file, false, 'linux');
      expect(mode(file)).toBe(0o600);
      // on win32 it runs icacls, which this machine lacks: a clear refusal, not a silent pass
      expect(() => restrictToOwner(file, false, 'win32')).toThrow(/readable by .+ only \(icacls is missing\)/);
    } finally {
      tmp.cleanup();
    }
  });
});
