/**
 * The audit log's tamper evidence against someone who can write the database file with SQL (they
 * hold the data key, or a tool that has the store open) but not the audit MAC key, and who may
 * replace files in the data folder: every scenario of issue 9 on a copy of one real store.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AuditRow as Row } from '../../../src-main/store/audit.js';
import { openEncryptedDatabase, type Db } from '../../../src-main/store/sqlite.js';
import { initStore, openStore, storePaths } from '../../../src-main/store/store.js';
import { runCliCaptured } from '../../support/cli.js';
import { makeTempDir } from '../../support/temp.js';

const PASSPHRASE = 'audit tamper passphrase';
const FAST_SCRYPT = { N: 2 ** 14, r: 8, p: 1 };

describe('audit verify detects every kind of tampering', () => {
  const tmp = makeTempDir('clinprompt-audit-tamper-');
  const pristine = path.join(tmp.dir, 'pristine');
  const rolledBackDb = path.join(tmp.dir, 'older-copy.db');
  let key: Buffer;
  let copies = 0;

  beforeAll(async () => {
    const store = await initStore(pristine, {
      protect: { passphrase: PASSPHRASE, scrypt: FAST_SCRYPT },
      admin: { username: 'admin' },
    });
    key = store.exportKey();
    const admin = store.session('admin');
    for (const name of ['ana', 'bo', 'cy']) {
      admin.perform('users.manage', 'users.add', (db) =>
        db
          .prepare(`INSERT INTO users (username, display_name, role, created_at) VALUES (?, ?, 'clinician', 'now')`)
          .run(name, name),
      );
    }
    store.close(); // checkpoints the WAL into the file: a plain copy is a consistent older copy
    copyFileSync(storePaths(pristine).dbFile, rolledBackDb);
    const again = await openStore(pristine, { user: 'admin', passphrase: PASSPHRASE });
    const later = again.session('admin');
    later.record('store.admin', 'store.backup', { details: { bytes: 1 } });
    later.record('store.admin', 'store.backup', { details: { bytes: 2 } });
    expect(again.audit.verify()).toEqual({ ok: true, entries: 6, headSeq: 6 });
    again.close();
  });
  afterAll(() => tmp.cleanup());

  /** A copy of the pristine store, tampered with by `attack` with raw SQL (no audit key), then verified. */
  async function verifyAfter(attack: (db: Db, home: string) => void) {
    const home = path.join(tmp.dir, `copy-${(copies += 1)}`);
    cpSync(pristine, home, { recursive: true });
    const db = openEncryptedDatabase(storePaths(home).dbFile, key, { create: false });
    try {
      attack(db, home);
    } finally {
      db.close();
    }
    const store = await openStore(home, { user: 'admin', passphrase: PASSPHRASE });
    try {
      return store.audit.verify();
    } finally {
      store.close();
    }
  }

  const dropTriggers = (db: Db) => db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
  /** What a careful attacker does: drop the triggers, change the log, put the same triggers back. */
  const aroundTriggers = (change: (db: Db) => void) => (db: Db) => {
    const triggers = db
      .prepare(`SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'`)
      .pluck()
      .all() as string[];
    dropTriggers(db);
    change(db);
    for (const sql of triggers) db.exec(sql);
  };
  const rows = (db: Db) => db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as Row[];
  const setHead = (db: Db, seq: number, hash: string) =>
    db.prepare(`UPDATE meta SET value = ? WHERE key = 'audit_head'`).run(`${seq}:${hash}`);

  it('a field edited in place', async () => {
    const result = await verifyAfter(
      aroundTriggers((db) => {
        db.prepare(`UPDATE audit_log SET username = 'nobody' WHERE seq = 3`).run();
      }),
    );
    expect(result).toMatchObject({ ok: false, firstBadSeq: 3, problem: 'entry 3 was altered after it was written' });
  });

  it('a row deleted from the middle', async () => {
    const result = await verifyAfter(
      aroundTriggers((db) => {
        db.prepare('DELETE FROM audit_log WHERE seq = 2').run();
      }),
    );
    expect(result).toMatchObject({ ok: false, firstBadSeq: 2, problem: 'entry 2 is missing' });
  });

  it('two rows swapped', async () => {
    const result = await verifyAfter(
      aroundTriggers((db) => {
        const [, two, three] = rows(db);
        const update = db.prepare(
          'UPDATE audit_log SET at = @at, username = @username, role = @role, action = @action, object_type = @object_type, ' +
            'object_ids = @object_ids, details = @details, prev_hash = @prev_hash, hash = @hash WHERE seq = @target',
        );
        update.run({ ...three, target: 2 });
        update.run({ ...two, target: 3 });
      }),
    );
    expect(result).toMatchObject({ ok: false, firstBadSeq: 2, problem: 'entry 2 does not link to entry 1' });
  });

  it('the tail truncated with the recorded head rewritten to match', async () => {
    const result = await verifyAfter(
      aroundTriggers((db) => {
        db.prepare('DELETE FROM audit_log WHERE seq > 4').run();
        setHead(db, 4, rows(db)[3]!.hash);
      }),
    );
    expect(result).toMatchObject({ ok: false, firstBadSeq: 5 });
    expect(result.problem).toMatch(/ends at entry 4 but the checkpoint outside the database records entry 6/);
  });

  it('all rows deleted, the head with them', async () => {
    const result = await verifyAfter(
      aroundTriggers((db) => {
        db.exec(`DELETE FROM audit_log; DELETE FROM meta WHERE key = 'audit_head';`);
      }),
    );
    expect(result).toMatchObject({ ok: false, entries: 0 });
    expect(result.problem).toMatch(/the log is empty although the store has 4 users/);
  });

  it('an entry edited and the whole chain recomputed with SHA-256 (no MAC key)', async () => {
    const result = await verifyAfter(
      aroundTriggers((db) => {
        db.prepare(`UPDATE audit_log SET username = 'nobody' WHERE seq = 2`).run();
        let prev = '0'.repeat(64);
        for (const row of rows(db)) {
          const fields = [
            row.seq,
            row.at,
            row.username,
            row.role,
            row.action,
            row.object_type,
            row.object_ids,
            row.details,
          ];
          const hash = createHash('sha256').update(prev).update('\n').update(JSON.stringify(fields)).digest('hex');
          db.prepare('UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?').run(prev, hash, row.seq);
          prev = hash;
        }
        setHead(db, 6, prev);
      }),
    );
    expect(result).toMatchObject({ ok: false, firstBadSeq: 1, problem: 'entry 1 was altered after it was written' });
  });

  it('the append-only triggers dropped (nothing else changed yet)', async () => {
    const result = await verifyAfter(dropTriggers);
    expect(result).toMatchObject({ ok: false });
    expect(result.problem).toMatch(/the append-only trigger audit_log_no_update was dropped or changed/);
    const harmless = await verifyAfter((db) => {
      dropTriggers(db); // and replaced by look-alikes that refuse nothing
      db.exec(`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT 1; END;
               CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT 1; END;`);
    });
    expect(harmless.problem).toMatch(/trigger audit_log_no_update was dropped or changed/);
  });

  it('the whole database file rolled back to an older copy', async () => {
    const result = await verifyAfter((_db, home) => copyFileSync(rolledBackDb, storePaths(home).dbFile));
    expect(result).toMatchObject({ ok: false, entries: 4 });
    expect(result.problem).toMatch(
      /records entry 6: entries were removed from the end, or the database was rolled back/,
    );
  });

  it('the head file deleted or forged', async () => {
    const deleted = await verifyAfter((_db, home) => rmSync(storePaths(home).auditHeadFile));
    expect(deleted.problem).toBe('the head checkpoint file beside the database is missing');
    const forged = await verifyAfter((_db, home) => {
      const file = storePaths(home).auditHeadFile;
      const head = JSON.parse(readFileSync(file, 'utf8')) as { seq: number };
      writeFileSync(file, JSON.stringify({ ...head, seq: 4 }));
    });
    expect(forged.problem).toBe('the head checkpoint file beside the database is not signed by this store');
  });

  it('reports a rollback through the CLI: audit verify and store check exit 1', async () => {
    const home = path.join(tmp.dir, 'cli-rollback');
    cpSync(pristine, home, { recursive: true });
    copyFileSync(rolledBackDb, storePaths(home).dbFile);
    const env = { CLINPROMPT_HOME: home, CLINPROMPT_PASSPHRASE: PASSPHRASE, CLINPROMPT_USER: 'admin' };
    const verify = await runCliCaptured(['audit', 'verify'], env);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/^AUDIT LOG TAMPERED: the log ends at entry 4 but the checkpoint outside/);
    const check = await runCliCaptured(['store', 'check', '--json'], env);
    expect(check.code).toBe(1);
    expect(JSON.parse(check.stdout)).toMatchObject({ ok: false, integrity: ['ok'], audit: { ok: false } });
  });
});
