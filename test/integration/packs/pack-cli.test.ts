/**
 * `clinprompt pack` end to end, as two hospitals use it: site A trains a prompt and exports it;
 * site B (a fresh store in another data folder) refuses it until its admin trusts A's key, then
 * imports it, and running it over the same notes gives exactly site A's outputs.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXIT } from '../../../src-main/cli/exit-codes.js';
import { runCliCaptured } from '../../support/cli.js';
import { writeLearnableNli } from '../../support/learnable-task.js';
import { makeTempDir } from '../../support/temp.js';
import { writeTinyLlamaFolder } from '../../support/tiny-llama.js';

const tmp = makeTempDir('clinprompt-pack-cli-');
const backbone = path.join(tmp.dir, 'tiny');
const data = path.join(tmp.dir, 'nli.jsonl');
const runDir = path.join(tmp.dir, 'run');
const pack = path.join(tmp.dir, 'nli.cpack');
const siteEnv = (name: string) => ({
  CLINPROMPT_HOME: path.join(tmp.dir, name),
  CLINPROMPT_PASSPHRASE: `passphrase of ${name}`,
  CLINPROMPT_USER: 'admin',
  CLINPROMPT_MODEL_CACHE: path.join(tmp.dir, 'cache'),
});
const A = siteEnv('site-a');
const B = siteEnv('site-b');
const cli = (env: NodeJS.ProcessEnv, ...argv: string[]) => runCliCaptured(['--json', ...argv], env);

beforeAll(async () => {
  writeTinyLlamaFolder(backbone);
  writeLearnableNli(data, { train: 16, dev: 4, test: 6 });
  for (const env of [A, B]) expect((await cli(env, 'store', 'init')).code).toBe(EXIT.ok);
});
afterAll(() => tmp.cleanup());

/** `clinprompt eval` over the test split of `source` (the file, or a dataset in the env's store). */
const evalRun = (env: NodeJS.ProcessEnv, adapter: string, out: string, source = data) =>
  cli(env, 'eval', '--backbone', backbone, '--data', source, '--task', 'nli', '--adapter', adapter, '--out', out);

/** The outputs, in order (ids differ between a file and a store dataset). */
async function outputsOf(env: NodeJS.ProcessEnv, adapter: string, out: string, source = data): Promise<string[]> {
  const run = await evalRun(env, adapter, out, source);
  expect(run.code, run.stderr).toBe(EXIT.ok);
  return readFileSync(path.join(out, 'predictions-test.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { output: string }).output);
}

describe('clinprompt pack', () => {
  it('exports at site A, is refused at site B until trusted, then gives site A outputs there', async () => {
    const trained = await cli(
      A,
      'train',
      '--method',
      'pt',
      '--backbone',
      backbone,
      '--data',
      data,
      '--task',
      'nli',
      '--out',
      runDir,
      '--steps',
      '3',
      '--prompt-length',
      '4',
    );
    expect(trained.code, trained.stderr).toBe(EXIT.ok);

    const exported = await cli(A, 'pack', 'export', runDir, '--out', pack, '--name', 'nli-entailment');
    expect(exported.code, exported.stderr).toBe(EXIT.ok);
    expect(JSON.parse(exported.stdout)).toMatchObject({ name: 'nli-entailment', version: 1, method: 'pt' });

    const inspected = await runCliCaptured(['--json', 'pack', 'inspect', pack], {}); // no store needed
    expect(inspected.code, inspected.stderr).toBe(EXIT.ok);
    expect(JSON.parse(inspected.stdout)).toMatchObject({
      manifest: { name: 'nli-entailment', method: 'pt', tasks: [{ type: 'nli' }] },
      signature: { valid: true },
    });
    expect((await cli(A, 'pack', 'verify', pack)).code).toBe(EXIT.ok);

    // site B: not trusted yet
    const verifyB = await cli(B, 'pack', 'verify', pack);
    expect(verifyB.code).toBe(EXIT.failed);
    expect(JSON.parse(verifyB.stdout)).toMatchObject({ ok: false, signature: 'untrusted' });
    const refused = await cli(B, 'pack', 'import', pack, '--backbone', backbone);
    expect(refused.code).toBe(EXIT.failed);
    expect(refused.stderr).toContain('does not trust');
    expect((await evalRun(B, pack, path.join(tmp.dir, 'refused'))).code).toBe(EXIT.failed);

    expect((await cli(B, 'pack', 'keys', 'add', pack, '--label', 'site A')).code).toBe(EXIT.ok);
    expect((await cli(B, 'pack', 'verify', pack)).code).toBe(EXIT.ok);
    const imported = await cli(B, 'pack', 'import', pack, '--backbone', backbone);
    expect(imported.code, imported.stderr).toBe(EXIT.ok);
    const listed = JSON.parse((await cli(B, 'pack', 'list')).stdout) as { name: string; source: string }[];
    expect(listed.map((p) => [p.name, p.source])).toEqual([['nli-entailment', 'import']]);
    const keys = JSON.parse((await cli(B, 'pack', 'keys', 'list')).stdout) as { label: string; trusted: boolean }[];
    expect(keys).toMatchObject([{ label: 'site A', trusted: true }]);

    // the same notes, the same outputs: site A's run folder, site A's pack, site B's pack
    const atA = await outputsOf(A, runDir, path.join(tmp.dir, 'eval-a'));
    expect(atA).toHaveLength(6);
    expect(await outputsOf(A, pack, path.join(tmp.dir, 'eval-a-pack'))).toEqual(atA);
    // site B's own copy of the notes, in its own encrypted store
    const importedNotes = await cli(B, 'import', 'jsonl', data, '--task', 'nli', '--name', 'ward-notes');
    expect(importedNotes.code, importedNotes.stderr).toBe(EXIT.ok);
    expect(await outputsOf(B, pack, path.join(tmp.dir, 'eval-b'), 'ward-notes')).toEqual(atA);
    // and the copy the import keeps in site B's store, without the file
    expect(await outputsOf(B, 'pack:nli-entailment', path.join(tmp.dir, 'eval-b-store'), 'ward-notes')).toEqual(atA);
    const generate = (env: NodeJS.ProcessEnv, adapter: string) =>
      cli(env, 'generate', '--backbone', backbone, '--prompt', 'Premise:', '--max-tokens', '8', '--adapter', adapter);
    const textA = JSON.parse((await generate(A, runDir)).stdout) as { text: string };
    const textB = JSON.parse((await generate(B, 'pack:nli-entailment@1')).stdout) as { text: string };
    expect(textB.text).toBe(textA.text);

    const audit = JSON.parse((await cli(B, 'audit', 'list', '--limit', '50')).stdout) as { action: string }[];
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['packs.key-trust', 'packs.import']));

    // a tampered pack fails verify (exit 1), naming the problem
    const bytes = readFileSync(pack);
    const at = bytes.indexOf('prompt_embeddings'); // inside the tensors' member
    bytes.writeUInt8(bytes.readUInt8(at) ^ 0x20, at);
    const tampered = path.join(tmp.dir, 'tampered.cpack');
    writeFileSync(tampered, bytes);
    const verifyTampered = await cli(B, 'pack', 'verify', tampered);
    expect(verifyTampered.code).toBe(EXIT.failed);
    expect(JSON.parse(verifyTampered.stdout)).toMatchObject({ ok: false, intact: false });

    // removing the key stops the file from verifying or running; the imported copy still runs
    const keyId = (JSON.parse(inspected.stdout) as { signature: { keyId: string } }).signature.keyId;
    expect((await cli(B, 'pack', 'keys', 'remove', keyId)).code).toBe(EXIT.ok);
    expect((await cli(B, 'pack', 'verify', pack)).code).toBe(EXIT.failed);
    expect((await generate(B, pack)).code).toBe(EXIT.failed);
    expect(JSON.parse((await generate(B, 'pack:nli-entailment')).stdout)).toMatchObject({ text: textA.text });
  });

  it("confirming a PHI finding and trusting keys are an informatics-admin's; a data scientist is refused", async () => {
    const ds = { ...A, CLINPROMPT_USER: 'ds', CLINPROMPT_PASSPHRASE: 'data scientist passphrase' };
    const added = await runCliCaptured(['users', 'add', 'ds', '--role', 'data-scientist'], {
      ...A,
      CLINPROMPT_NEW_PASSPHRASE: ds.CLINPROMPT_PASSPHRASE,
    });
    expect(added.code, added.stderr).toBe(EXIT.ok);
    const phiRun = path.join(tmp.dir, 'run-phi');
    cpSync(runDir, phiRun, { recursive: true });
    const record = JSON.parse(readFileSync(path.join(phiRun, 'run.json'), 'utf8')) as { data: { task: object } };
    record.data.task = { ...record.data.task, template: 'Mrs. Okafor (MRN 00482913): {{premise}} {{hypothesis}}' };
    writeFileSync(path.join(phiRun, 'run.json'), JSON.stringify(record));

    const stopped = await cli(ds, 'pack', 'export', phiRun, '--out', path.join(tmp.dir, 'phi.cpack'));
    expect(stopped.code).toBe(EXIT.failed);
    expect(stopped.stderr).toContain('name in tasks[0].template');
    expect(stopped.stderr).toContain('record-number in tasks[0].template');
    expect(stopped.stderr).not.toContain('Okafor');
    const confirmed = await cli(
      ds,
      'pack',
      'export',
      phiRun,
      '--out',
      path.join(tmp.dir, 'phi.cpack'),
      '--confirm-phi-reviewed',
    );
    expect(confirmed.code).toBe(EXIT.failed);
    expect(confirmed.stderr).toContain('needs store.admin');
    expect(existsSync(path.join(tmp.dir, 'phi.cpack'))).toBe(false);
    expect((await cli(ds, 'pack', 'keys', 'add', pack, '--label', 'x')).stderr).toContain('needs store.admin');

    const byAdmin = await cli(
      A,
      'pack',
      'export',
      phiRun,
      '--out',
      path.join(tmp.dir, 'phi.cpack'),
      '--confirm-phi-reviewed',
    );
    expect(byAdmin.code, byAdmin.stderr).toBe(EXIT.ok);
    const audit = JSON.parse((await cli(A, 'audit', 'list', '--limit', '10')).stdout) as {
      action: string;
      username: string;
    }[];
    expect(audit.map((e) => `${e.username} ${e.action}`)).toEqual(
      expect.arrayContaining(['ds packs.export-stopped', 'ds permission.denied', 'admin packs.export']),
    );
  });
});
