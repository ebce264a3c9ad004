import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { generateDataKey } from '../../../src-main/store/keys/data-key.js';
import {
  LATEST_VERSION,
  MIGRATIONS,
  migrate,
  schemaVersion,
  type Migration,
} from '../../../src-main/store/migrations.js';
import { integrityCheck, openEncryptedDatabase, type Db } from '../../../src-main/store/sqlite.js';
import { tempDir, type TempDir } from './helpers.js';

/** Rows that exist from a given schema version on, written by "an older ClinPrompt". */
const SEED: Record<number, (db: Db) => void> = {
  1: (db) =>
    db
      .prepare(
        `INSERT INTO users (username, display_name, role, created_at) VALUES ('ana', 'Ana', 'clinician', 'then')`,
      )
      .run(),
  2: (db) =>
    db
      .prepare(
        `INSERT INTO notes (collection, external_id, text, imported_at, imported_by) VALUES ('c', 'n1', 'note', 'then', 'ana')`,
      )
      .run(),
  3: (db) =>
    db
      .prepare(
        `INSERT INTO datasets (name, task_type, source_format, label_set, created_at) VALUES ('d', 'nli', 'jsonl', '[]', 'then')`,
      )
      .run(),
};

const tableCount = (db: Db, table: string) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;

describe('migrations', () => {
  let tmp: TempDir;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('are numbered 1..N without gaps', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(Array.from({ length: LATEST_VERSION }, (_, i) => i + 1));
  });

  for (let from = 0; from < LATEST_VERSION; from++) {
    it(`upgrade an encrypted database from version ${from} to ${LATEST_VERSION}, keeping its data`, () => {
      const file = `${tmp.dir}/v${from}.db`;
      const key = generateDataKey();
      let db = openEncryptedDatabase(file, key, { create: true });
      migrate(db, MIGRATIONS.slice(0, from));
      for (let v = 1; v <= from; v++) SEED[v]?.(db);
      expect(schemaVersion(db)).toBe(from);
      db.close();

      db = openEncryptedDatabase(file, key, { create: false });
      expect(migrate(db)).toEqual(MIGRATIONS.slice(from).map((m) => m.version));
      expect(schemaVersion(db)).toBe(LATEST_VERSION);
      expect(integrityCheck(db)).toEqual(['ok']);
      if (from >= 1) expect(tableCount(db, 'users')).toBe(1);
      if (from >= 2) expect(tableCount(db, 'notes')).toBe(1);
      if (from >= 3) expect(tableCount(db, 'datasets')).toBe(1);
      // the newest tables are usable after the upgrade
      db.prepare(
        `INSERT INTO runs (kind, status, config, started_at, started_by) VALUES ('train', 'running', '{}', 'now', 'ana')`,
      ).run();
      expect(migrate(db)).toEqual([]); // idempotent
      db.close();
    });
  }

  it('roll a failing migration back completely: no partial table, version unchanged', () => {
    const { dir } = tmp;
    const db = openEncryptedDatabase(`${dir}/fail.db`, generateDataKey(), { create: true });
    migrate(db);
    const broken: Migration = {
      version: LATEST_VERSION + 1,
      name: 'half-done change',
      up: (d) => {
        d.exec('CREATE TABLE half_done (x INTEGER)');
        d.exec(`INSERT INTO users (username, display_name, role, created_at) VALUES ('ghost', 'g', 'auditor', 'now')`);
        d.exec('ALTER TABLE no_such_table ADD COLUMN y INTEGER'); // fails
      },
    };
    expect(() => migrate(db, [...MIGRATIONS, broken])).toThrow(/no such table/);
    expect(schemaVersion(db)).toBe(LATEST_VERSION);
    expect(db.prepare(`SELECT count(*) FROM sqlite_master WHERE name = 'half_done'`).pluck().get()).toBe(0);
    expect(tableCount(db, 'users')).toBe(0);
    db.close();
  });

  it('refuse a database from a newer ClinPrompt without touching it', () => {
    const db = openEncryptedDatabase(`${tmp.dir}/new.db`, generateDataKey(), { create: true });
    migrate(db);
    db.pragma(`user_version = ${LATEST_VERSION + 5}`);
    expect(() => migrate(db)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
    expect(schemaVersion(db)).toBe(LATEST_VERSION + 5);
    db.close();
  });
});
