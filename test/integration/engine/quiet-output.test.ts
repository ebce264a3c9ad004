/**
 * Quiet output: onnxruntime's own log lines (WebGPU's "Some nodes were not assigned to the
 * preferred execution providers", CUDA library load failures) stay out of the CLI's stderr, and a
 * provider that 'auto' passes over is reported once per process, in words.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { log } from '../../../src-main/common/log.js';
import { Graph, createSession, identity, ort, serialize } from '../../../src-main/engine/index.js';
import { REPO_ROOT } from '../../support/paths.js';
import { skipUnlessAvailable } from '../../support/prerequisites.js';
import { makeTempDir } from '../../support/temp.js';
import { STORIES_DIR } from '../../support/tiny-llama.js';

const ORT_LINE = /\[[VIWEF]:onnxruntime/;

async function cli(args: readonly string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'clinprompt.js'), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  return { code, stderr };
}

const tinyModel = () => {
  const g = new Graph();
  return serialize(g, [{ name: 'y', tensor: identity(g.input('x', 'float32', [1])) }]);
};
const webgpu = await createSession(tinyModel(), { provider: 'webgpu' }).then(
  async (s) => (await s.release(), undefined),
  (e: unknown) => (e instanceof Error ? e.message.slice(0, 160) : String(e)),
);

describe('quiet output', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());

  it.skipIf(skipUnlessAvailable(webgpu, 'WebGPU log check'))(
    'a WebGPU generation prints no onnxruntime log lines, unless CLINPROMPT_ORT_LOG_LEVEL asks',
    async () => {
      const args = ['generate', '--backbone', STORIES_DIR, '--prompt', 'Once', '--max-tokens', '2'];
      const env = { CLINPROMPT_MODEL_CACHE: tmp.dir };
      const quiet = await cli([...args, '--provider', 'webgpu'], env);
      expect(quiet.code, quiet.stderr).toBe(0);
      expect(quiet.stderr).toMatch(/generated .* on webgpu/);
      expect(quiet.stderr).not.toMatch(ORT_LINE);
      // the same run with onnxruntime's warnings asked for shows what is kept out
      const verbose = await cli([...args, '--provider', 'webgpu'], { ...env, CLINPROMPT_ORT_LOG_LEVEL: 'warning' });
      expect(verbose.stderr).toMatch(/\[W:onnxruntime.*Some nodes were not assigned/);
    },
  );

  it("reports a provider 'auto' passes over once, in words", async () => {
    const lines: string[] = [];
    const previous = log.setSink((line) => lines.push(line));
    try {
      const first = await createSession(tinyModel(), { provider: 'auto' });
      const second = await createSession(tinyModel(), { provider: 'auto' });
      await first.release();
      await second.release();
      const passedOver = first.attempts.filter((a) => !a.ok);
      expect(second.attempts).toEqual(first.attempts);
      const reports = lines.map((l) => JSON.parse(l) as Record<string, string>);
      expect(reports.filter((r) => r['event'] === 'engine-provider-unavailable')).toEqual(
        passedOver.map((a) =>
          expect.objectContaining({ provider: a.provider, detail: expect.stringContaining(a.reason!) }),
        ),
      );
    } finally {
      log.setSink(previous);
    }
  });

  it('does not try CUDA when its provider libraries are absent, so onnxruntime prints no load failure', async () => {
    const cuda = ort.listSupportedBackends().find((b) => b.name === 'cuda');
    const run = await cli(['generate', '--backbone', STORIES_DIR, '--prompt', 'x', '--provider', 'cuda'], {
      CLINPROMPT_MODEL_CACHE: tmp.dir,
    });
    expect(run.stderr).not.toMatch(ORT_LINE);
    if (cuda && !cuda.bundled && run.code !== 0)
      expect(run.stderr).toMatch(/CUDA provider libraries \(.*\) are not installed/);
  });
});
