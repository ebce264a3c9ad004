/**
 * The schema, as forward-only migrations. `PRAGMA user_version` holds the number of the last one
 * applied. Each migration runs in its own IMMEDIATE transaction together with the version bump, so
 * a failing migration leaves the database exactly at the previous version. A database from a newer
 * ClinPrompt (higher version than we know) is refused rather than guessed at.
 *
 * Never edit a migration that has shipped: add a new one. test/unit/store/migrations.test.ts
 * upgrades a database from every earlier version.
 */
import { UserError } from '../common/errors.js';
import { whenBusy, type Db } from './sqlite.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly up: (db: Db) => void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'meta, users and the audit log',
    up: (db) =>
      db.exec(`
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
        CREATE TABLE users (
          id INTEGER PRIMARY KEY,
          username TEXT NOT NULL UNIQUE,
          display_name TEXT NOT NULL,
          role TEXT NOT NULL,
          disabled INTEGER NOT NULL DEFAULT 0,
          created_at TEXT NOT NULL
        ) STRICT;
        CREATE TABLE audit_log (
          seq INTEGER PRIMARY KEY,
          at TEXT NOT NULL,
          username TEXT NOT NULL,
          role TEXT NOT NULL,
          action TEXT NOT NULL,
          object_type TEXT,
          object_ids TEXT NOT NULL,
          details TEXT NOT NULL,
          prev_hash TEXT NOT NULL,
          hash TEXT NOT NULL
        ) STRICT;
        -- Append-only: the database itself refuses to change or remove audit entries.
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
          BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
          BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      `),
  },
  {
    version: 2,
    name: 'notes and annotations',
    up: (db) =>
      db.exec(`
        CREATE TABLE notes (
          id INTEGER PRIMARY KEY,
          collection TEXT NOT NULL,
          external_id TEXT,
          text TEXT NOT NULL,
          meta TEXT NOT NULL DEFAULT '{}',
          imported_at TEXT NOT NULL,
          imported_by TEXT NOT NULL,
          UNIQUE (collection, external_id)
        ) STRICT;
        CREATE INDEX notes_by_collection ON notes (collection, id);
        CREATE TABLE annotations (
          id INTEGER PRIMARY KEY,
          note_id INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
          task_type TEXT NOT NULL,
          label TEXT NOT NULL,
          start INTEGER,
          end INTEGER,
          value TEXT NOT NULL DEFAULT 'null',
          created_at TEXT NOT NULL,
          created_by TEXT NOT NULL,
          CHECK (start IS NULL OR (end IS NOT NULL AND start >= 0 AND end >= start))
        ) STRICT;
        CREATE INDEX annotations_by_note ON annotations (note_id);
      `),
  },
  {
    version: 3,
    name: 'datasets and examples',
    up: (db) =>
      db.exec(`
        CREATE TABLE datasets (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL UNIQUE,
          task_type TEXT NOT NULL CHECK (task_type IN ('ner', 're', 'qa', 'nli', 'summarization')),
          source_format TEXT NOT NULL,
          label_set TEXT NOT NULL,
          meta TEXT NOT NULL DEFAULT '{}',
          created_at TEXT NOT NULL
        ) STRICT;
        CREATE TABLE examples (
          id INTEGER PRIMARY KEY,
          dataset_id INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
          split TEXT NOT NULL CHECK (split IN ('train', 'dev', 'test')),
          position INTEGER NOT NULL,
          external_id TEXT,
          input TEXT NOT NULL,
          target TEXT NOT NULL,
          labels TEXT NOT NULL
        ) STRICT;
        CREATE UNIQUE INDEX examples_by_split ON examples (dataset_id, split, position);
      `),
  },
  {
    version: 4,
    name: 'blobs, runs, prompts and packs',
    up: (db) =>
      db.exec(`
        CREATE TABLE blobs (
          id TEXT PRIMARY KEY,
          kind TEXT NOT NULL,
          bytes INTEGER NOT NULL,
          sha256 TEXT NOT NULL,
          inline_data BLOB,
          file_key BLOB,
          created_at TEXT NOT NULL,
          CHECK ((inline_data IS NULL) <> (file_key IS NULL))
        ) STRICT;
        CREATE TABLE runs (
          id INTEGER PRIMARY KEY,
          kind TEXT NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
          config TEXT NOT NULL,
          dataset_ids TEXT NOT NULL DEFAULT '[]',
          started_at TEXT NOT NULL,
          finished_at TEXT,
          started_by TEXT NOT NULL,
          error_code TEXT
        ) STRICT;
        CREATE TABLE run_metrics (
          run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          step INTEGER NOT NULL,
          name TEXT NOT NULL,
          value REAL NOT NULL,
          PRIMARY KEY (run_id, step, name)
        ) STRICT;
        CREATE TABLE run_artifacts (
          run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
          name TEXT NOT NULL,
          blob_id TEXT NOT NULL REFERENCES blobs (id),
          PRIMARY KEY (run_id, name)
        ) STRICT;
        CREATE TABLE prompts (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL,
          version INTEGER NOT NULL,
          method TEXT NOT NULL,
          backbone_fingerprint TEXT NOT NULL,
          task_types TEXT NOT NULL,
          meta TEXT NOT NULL DEFAULT '{}',
          weights_blob_id TEXT NOT NULL REFERENCES blobs (id),
          run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
          created_at TEXT NOT NULL,
          UNIQUE (name, version)
        ) STRICT;
        CREATE TABLE pack_exports (
          id INTEGER PRIMARY KEY,
          prompt_id INTEGER NOT NULL REFERENCES prompts (id),
          file_name TEXT NOT NULL,
          sha256 TEXT NOT NULL,
          exported_at TEXT NOT NULL,
          exported_by TEXT NOT NULL
        ) STRICT;
      `),
  },
  {
    version: 5,
    name: 'the OS login beside the store user in the audit log',
    up: (db) => db.exec('ALTER TABLE audit_log ADD COLUMN os_user TEXT'),
  },
  {
    version: 6,
    name: 'pack signing keys: the workstation own key and the keys it trusts',
    up: (db) =>
      db.exec(`
        CREATE TABLE signing_keys (
          id INTEGER PRIMARY KEY,
          key_id TEXT NOT NULL UNIQUE,
          public_key TEXT NOT NULL,
          label TEXT NOT NULL,
          own INTEGER NOT NULL DEFAULT 0 CHECK (own IN (0, 1)),
          private_blob_id TEXT REFERENCES blobs (id),
          trusted INTEGER NOT NULL CHECK (trusted IN (0, 1)),
          added_at TEXT NOT NULL,
          added_by TEXT NOT NULL,
          removed_at TEXT,
          removed_by TEXT
        ) STRICT;
      `),
  },
];

export const LATEST_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies every migration above the database's version; returns the versions applied. */
export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const latest = migrations.at(-1)?.version ?? 0;
  const current = schemaVersion(db);
  if (current > latest) {
    throw new UserError(
      'UNSUPPORTED',
      `The store has schema version ${current}, newer than this ClinPrompt understands (${latest}). ` +
        'Update ClinPrompt; the store was not changed.',
    );
  }
  const applied: number[] = [];
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    whenBusy(() =>
      db
        .transaction(() => {
          migration.up(db);
          db.pragma(`user_version = ${migration.version}`);
        })
        .immediate(),
    );
    applied.push(migration.version);
  }
  return applied;
}
