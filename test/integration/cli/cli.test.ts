import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { EXIT } from '../../../src-main/cli/exit-codes.js';
import { createProgram, runCli } from '../../../src-main/cli/run.js';
import { runCliCaptured } from '../../support/cli.js';
import { DIST_DIR, REPO_ROOT } from '../../support/paths.js';
import { makeTempDir } from '../../support/temp.js';

const home = makeTempDir();
const env = { CLINPROMPT_HOME: home.dir };
afterAll(() => home.cleanup());

describe('clinprompt CLI', () => {
  it('has --help for every command', async () => {
    const { program } = createProgram({ stdout: { write: () => 0 }, stderr: { write: () => 0 }, env });
    const names = program.commands.map((c) => c.name());
    expect(names).toEqual(expect.arrayContaining(['info', 'doctor', 'demo']));
    for (const name of names) {
      const run = await runCliCaptured([name, '--help'], env);
      expect(run.code, name).toBe(EXIT.ok);
      expect(run.stdout, name).toMatch(new RegExp(`Usage: clinprompt ${name}`));
    }
  });

  it('suggests the closest command and exits 2 on bad usage', async () => {
    const typo = await runCliCaptured(['doctr'], env);
    expect(typo.code).toBe(EXIT.usage);
    expect(typo.stderr).toMatch(/unknown command 'doctr'/);
    expect(typo.stderr).toMatch(/Did you mean doctor\?/);

    const option = await runCliCaptured(['info', '--jsn'], env);
    expect(option.code).toBe(EXIT.usage);
    expect(option.stderr).toMatch(/Did you mean --json\?/);
  });

  it('prints JSON on request, with the data folder from CLINPROMPT_HOME', async () => {
    const run = await runCliCaptured(['info', '--json'], env);
    expect(run.code).toBe(EXIT.ok);
    expect(JSON.parse(run.stdout)).toMatchObject({ name: 'ClinPrompt', dataDir: home.dir, runtime: 'node' });
  });

  it('runs the workstation check in a worker, with progress on stderr and the result on stdout', async () => {
    const run = await runCliCaptured(['doctor', '--json'], env);
    expect(run.code).toBe(EXIT.ok);
    const result = JSON.parse(run.stdout) as { checks: { name: string; ok: boolean }[] };
    expect(result.checks).toHaveLength(3);
    expect(result.checks.every((c) => c.ok)).toBe(true);

    const text = await runCliCaptured(['doctor'], env);
    expect(text.stderr).toMatch(/\[#{7}-{13}\] 1\/3 onnxruntime/); // a progress bar, 1 of 3 done
    expect(text.stdout).toMatch(/Encrypted SQLite \(SQLCipher\)\s+yes/);
  });

  it('on a terminal, rewrites one progress line and closes it before the result', async () => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['doctor'], {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t), isTTY: true },
      env,
    });
    expect(code).toBe(EXIT.ok);
    expect(stderr.startsWith(`\r\x1b[2K[${'-'.repeat(20)}] 0/3`)).toBe(true); // redrawn in place, not one line per step
    expect(stderr.endsWith('\n')).toBe(true); // the same Output that drew it closes it
    expect(stdout).toMatch(/Encrypted SQLite \(SQLCipher\)\s+yes/);
  });

  it('works as the installed `clinprompt` binary (needs `npm run build`)', async () => {
    expect(existsSync(path.join(DIST_DIR, 'main', 'cli', 'main.js')), 'run `npm run build` first').toBe(true);
    const bin = path.join(REPO_ROOT, 'bin', 'clinprompt.js');
    const ok = await promisify(execFile)(process.execPath, [bin, 'info', '--json'], {
      env: { ...process.env, ...env },
    });
    expect(JSON.parse(ok.stdout)).toMatchObject({ dataDir: home.dir });
    const bad = await promisify(execFile)(process.execPath, [bin, 'nope']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad).toMatchObject({ code: EXIT.usage, stderr: expect.stringMatching(/unknown command 'nope'/) });
  });
});
