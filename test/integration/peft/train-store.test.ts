/**
 * Training on a dataset in the encrypted store: the run is recorded there (status, loss curve,
 * dev metric, and the run record and trained tensors as the store's encrypted blobs) and listed by
 * `clinprompt runs list`.
 */
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { EXIT } from '../../../src-main/cli/exit-codes.js';
import type { RunSummary } from '../../../src-main/services/training.js';
import { runCliCaptured } from '../../support/cli.js';
import { writeLearnableNli } from '../../support/learnable-task.js';
import { makeTempDir } from '../../support/temp.js';
import { writeTinyLlamaFolder } from '../../support/tiny-llama.js';

const tmp = makeTempDir('clinprompt-train-store-');
afterAll(() => tmp.cleanup());
const env = {
  CLINPROMPT_HOME: path.join(tmp.dir, 'home'),
  CLINPROMPT_PASSPHRASE: 'train store passphrase',
  CLINPROMPT_USER: 'admin',
  CLINPROMPT_MODEL_CACHE: path.join(tmp.dir, 'cache'),
};
const cli = (...argv: string[]) => runCliCaptured(['--json', ...argv], env);

describe('training on a store dataset', () => {
  it('records the run with its loss curve, dev metric and encrypted artifacts', async () => {
    const backbone = path.join(tmp.dir, 'tiny');
    writeTinyLlamaFolder(backbone);
    const file = writeLearnableNli(path.join(tmp.dir, 'nli.jsonl'), { train: 16, dev: 6, test: 0 });
    expect((await cli('store', 'init')).code).toBe(EXIT.ok);
    const imported = await cli('import', 'jsonl', file, '--task', 'nli', '--name', 'happy-nli');
    expect(imported.code, imported.stderr).toBe(EXIT.ok);

    const out = path.join(tmp.dir, 'run');
    const trained = await cli(
      'train',
      '--method',
      'lora',
      '--backbone',
      backbone,
      '--data',
      'happy-nli',
      '--out',
      out,
      '--steps',
      '4',
    );
    expect(trained.code, trained.stderr).toBe(EXIT.ok);

    const listed = await cli('runs', 'list');
    expect(listed.code, listed.stderr).toBe(EXIT.ok);
    const [run] = JSON.parse(listed.stdout) as RunSummary[];
    expect(run).toMatchObject({ kind: 'train:lora', status: 'succeeded', startedBy: 'admin', steps: 4 });
    expect(run!.lastLoss).toBeGreaterThan(0);
    expect(run!.dev).not.toBeNull();
    expect([...run!.artifacts].sort()).toEqual(['adapter_model.safetensors', 'run.json']);
  });
});
