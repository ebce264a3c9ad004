/**
 * The backup defect as a user met it: import NCBI-disease (about 1.5 MiB of text, a backup of
 * several chunks) through the CLI, `store backup`, then `store restore` into a new data folder and
 * compare what the restored store holds. Then a damaged copy of the same backup, restored through
 * the CLI: exit 1 with BAD_FILE naming the chunk, never exit 70 or "wrong passphrase".
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { DatasetSummary } from '../../../src-main/store/repositories/datasets.js';
import { CHUNK_BYTES } from '../../../src-main/store/sealed-file.js';
import { runCliCaptured, type CliRun } from '../../support/cli.js';
import { SHARED_DIR } from '../../support/paths.js';
import { makeTempDir } from '../../support/temp.js';

const json = <T>(run: CliRun): T => JSON.parse(run.stdout) as T;

describe('clinprompt store backup / restore of an imported dataset', () => {
  const tmp = makeTempDir('clinprompt-cli-backup-');
  const env = (home: string): NodeJS.ProcessEnv => ({
    CLINPROMPT_HOME: path.join(tmp.dir, home),
    CLINPROMPT_PASSPHRASE: 'backup test store passphrase',
    CLINPROMPT_BACKUP_PASSPHRASE: 'the offsite backup passphrase',
    CLINPROMPT_USER: 'admin',
  });
  const file = path.join(tmp.dir, 'ncbi.cpbak');
  afterAll(() => tmp.cleanup());

  it('restores every example of NCBI-disease into a new data folder', async () => {
    expect((await runCliCaptured(['store', 'init'], env('source'))).code).toBe(0);
    const folder = path.join(SHARED_DIR, 'data', 'ner', 'ncbi-disease');
    const imported = await runCliCaptured(
      ['import', 'conll', folder, '--task', 'ner', '--name', 'ncbi'],
      env('source'),
    );
    expect(imported.stderr).toBe('');
    const before = json<DatasetSummary[]>(await runCliCaptured(['datasets', 'list', '--json'], env('source')));
    expect(before[0]?.counts.total).toBeGreaterThan(7000);

    const backup = await runCliCaptured(['store', 'backup', file], env('source'));
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    expect(statSync(file).size).toBeGreaterThan(2 * CHUNK_BYTES); // the case that failed: more than one chunk

    const restore = await runCliCaptured(['store', 'restore', file, '--json'], env('restored'));
    expect(restore.stderr).toBe('');
    expect(restore.code).toBe(0);
    const after = json<DatasetSummary[]>(await runCliCaptured(['datasets', 'list', '--json'], env('restored')));
    expect(after.map((d) => [d.name, d.counts, d.labelCounts])).toEqual(
      before.map((d) => [d.name, d.counts, d.labelCounts]),
    );
    const check = await runCliCaptured(['audit', 'verify', '--json'], env('restored'));
    expect(check.code).toBe(0);
  }, 180_000);

  it('reports a damaged copy as damaged, naming the chunk, with exit 1', async () => {
    const damaged = readFileSync(file);
    const at = damaged.length - 5000; // inside the last chunk
    damaged[at] = (damaged[at] ?? 0) ^ 0x10;
    const damagedFile = path.join(tmp.dir, 'damaged.cpbak');
    writeFileSync(damagedFile, damaged);
    const run = await runCliCaptured(['store', 'restore', damagedFile, '--json'], env('from-damaged'));
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stderr) as { error: { code: string; message: string } };
    expect(error.code).toBe('BAD_FILE');
    expect(error.message).toMatch(
      /^The backup .*damaged\.cpbak is damaged: chunk \d+ \(at byte \d+\) did not authenticate/,
    );
    expect(error.message).not.toMatch(/wrong passphrase/i);
  }, 60_000);
});
