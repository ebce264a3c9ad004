/** Test helpers for the store: a fresh temp folder and a real encrypted database in it. */
import path from 'node:path';

import { generateDataKey } from '../../../src-main/store/keys/data-key.js';
import { migrate } from '../../../src-main/store/migrations.js';
import { openEncryptedDatabase, type Db } from '../../../src-main/store/sqlite.js';

import { makeTempDir } from '../../support/temp.js';

export type TempDir = ReturnType<typeof makeTempDir>;
export const tempDir = (prefix = 'clinprompt-store-'): TempDir => makeTempDir(prefix);

/** A new encrypted, migrated database file with a random key. */
export function freshDatabase(dir: string, name = 'test.db'): { db: Db; file: string; key: Buffer } {
  const file = path.join(dir, name);
  const key = generateDataKey();
  const db = openEncryptedDatabase(file, key, { create: true });
  migrate(db);
  return { db, file, key };
}
