/**
 * Ctrl+C during a long import: the real `clinprompt` process gets SIGINT while it is streaming rows
 * from a named pipe; it must stop, exit 130 with a clear message, and keep nothing (the store's one
 * import transaction rolls back), leaving the store usable.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXIT } from '../../../src-main/cli/exit-codes.js';
import { fifo } from '../../unit/data/helpers.js';
import { runCliCaptured } from '../../support/cli.js';
import { REPO_ROOT } from '../../support/paths.js';
import { makeTempDir } from '../../support/temp.js';

const row = (k: number) => JSON.stringify({ question: `Question ${k}?`, answer: k % 2 ? 'yes' : 'no' }) + '\n';

describe('clinprompt import, interrupted', () => {
  const tmp = makeTempDir('clinprompt-interrupt-');
  const env = {
    CLINPROMPT_HOME: path.join(tmp.dir, 'home'),
    CLINPROMPT_PASSPHRASE: 'interrupt test passphrase',
    CLINPROMPT_USER: 'admin',
  };
  beforeAll(async () => {
    expect((await runCliCaptured(['store', 'init', '--json'], env)).code).toBe(0);
  });
  afterAll(() => tmp.cleanup());

  it('stops on Ctrl+C, exits 130 and imports nothing', async () => {
    const pipe = path.join(tmp.dir, 'rows.jsonl');
    const writer = fifo(pipe);
    const cli = spawn(
      process.execPath,
      [path.join(REPO_ROOT, 'bin', 'clinprompt.js'), 'import', 'jsonl', pipe, '--task', 'qa', '--name', 'half'],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(cli, 'exit');

    // More rows than the pipe buffers (64 KiB): 'drain' then proves the importer is reading them,
    // so Ctrl+C lands inside the open import transaction, not before the command started.
    let k = 0;
    while (writer.write(row(k++)));
    await once(writer, 'drain');
    cli.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 300));
    writer.write(row(k)); // the next row is where the importer sees the cancellation
    writer.end();

    const [code] = (await exited) as [number];
    expect(code, stderr).toBe(EXIT.cancelled);
    expect(stderr).toMatch(/Cancelling/);
    expect(stderr).toMatch(/cancelled; nothing was imported/);

    const list = await runCliCaptured(['datasets', 'list', '--json'], env);
    expect(list.code).toBe(EXIT.ok);
    expect(JSON.parse(list.stdout)).toEqual([]);
    // the store takes new work afterwards
    const again = await runCliCaptured(['audit', 'verify', '--json'], env);
    expect(again.code).toBe(EXIT.ok);
  });
});
