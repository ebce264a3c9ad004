/** Test helpers for the store: a fresh temp folder and a real encrypted database in it. */
import path from 'node:path';

import { afterEach, beforeEach } from 'vitest';

import { attachAuditKey, openAuditKey } from '../../../src-main/store/audit-key.js';
import { generateDataKey } from '../../../src-main/store/keys/data-key.js';
import { migrate } from '../../../src-main/store/migrations.js';
import { openEncryptedDatabase, type Db } from '../../../src-main/store/sqlite.js';

import { makeTempDir } from '../../support/temp.js';

export type TempDir = ReturnType<typeof makeTempDir>;
export const tempDir = (prefix = 'clinprompt-store-'): TempDir => makeTempDir(prefix);

/** A new encrypted, migrated database file with a random key, its audit key attached as the store does. */
export function freshDatabase(dir: string, name = 'test.db'): { db: Db; file: string; key: Buffer } {
  const file = path.join(dir, name);
  const key = generateDataKey();
  const db = openEncryptedDatabase(file, key, { create: true });
  migrate(db);
  attachAuditKey(db, openAuditKey(db, key));
  return { db, file, key };
}

/** scrypt at the lowest cost the keyring accepts: unit tests derive many keys; the default is tested once. */
export const FAST_SCRYPT = { N: 2 ** 14, r: 8, p: 1 } as const;

export const PASSPHRASE = 'correct horse battery staple';

/** A made-up patient sentence used to prove that note text never appears in clear anywhere. */
export const PLANTED_PHI = 'Patient Zebulon Quixotic-Marchetti, MRN 99417723, seen for chest pain';

export interface FreshDatabase {
  readonly db: Db;
  readonly dir: string;
}

/** A new encrypted, migrated database in its own temp folder for each test of the calling suite. */
export function useFreshDatabase(): FreshDatabase {
  let current: { db: Db; tmp: TempDir } | undefined;
  beforeEach(() => {
    const tmp = tempDir();
    current = { tmp, db: freshDatabase(tmp.dir).db };
  });
  afterEach(() => {
    current?.db.close();
    current?.tmp.cleanup();
  });
  const get = () => {
    if (!current) throw new Error('useFreshDatabase: only inside a test');
    return current;
  };
  return {
    get db() {
      return get().db;
    },
    get dir() {
      return get().tmp.dir;
    },
  };
}
