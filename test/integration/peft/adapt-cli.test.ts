/**
 * `clinprompt adapt`, MPT's stage 3, as a cluster node runs the three stages on the real
 * stories260K model (files in, files out, no store): two prompt-tuning teachers (`train --method
 * pt`), `distill`, then `adapt --meta <distill run> --k 2 --draw 0` on a target task neither source
 * is. The --json summary, the run folder (run.json, the PEFT MULTITASK_PROMPT_TUNING adapter), the
 * trainable count in the paper's symbols, and that adapt is `train --method mpt`: the same command
 * with train resumes adapt's finished run instead of starting another.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SafetensorsWeights } from '../../../src-main/backbone/hf/safetensors.js';
import { openBackbone } from '../../../src-main/backbone/load.js';
import { EXIT } from '../../../src-main/cli/exit-codes.js';
import { runCliCaptured } from '../../support/cli.js';
import { writeLearnableNli, type NliVariant } from '../../support/learnable-task.js';
import { makeTempDir } from '../../support/temp.js';
import { STORIES_DIR } from '../../support/tiny-llama.js';

const tmp = makeTempDir('clinprompt-adapt-cli-');
const env = { CLINPROMPT_HOME: path.join(tmp.dir, 'home'), CLINPROMPT_MODEL_CACHE: path.join(tmp.dir, 'cache') };
const dir = (name: string) => path.join(tmp.dir, name);
const SOURCES: NliVariant[] = ['saw', 'had'];
const L = 4; // the teachers' prompt length, so P*'s
const D = 64; // stories260K's hidden size
beforeAll(() => {
  for (const v of [...SOURCES, 'lost'] as const)
    writeLearnableNli(dir(`${v}.jsonl`), { train: 12, dev: 0, test: 0 }, 11, v);
});
afterAll(() => tmp.cleanup());

async function cli(...args: string[]) {
  const run = await runCliCaptured(args, env);
  expect(run.code, run.stderr).toBe(EXIT.ok);
  return run;
}

/** `{ steps: '3', task: ['nli', 'nli'] }` -> `--steps 3 --task nli nli` */
const flags = (values: Record<string, string | string[]>) =>
  Object.entries(values).flatMap(([name, value]) => [`--${name}`, ...[value].flat()]);

// the target (k = 2 per label, draw 0), the budget and the meta-prompt, as adapt and train take them
const stage3 = flags({
  backbone: STORIES_DIR,
  meta: dir('meta'),
  data: dir('lost.jsonl'),
  task: 'nli',
  k: '2',
  draw: '0',
  steps: '6',
  lr: '0.3',
  out: dir('adapted'),
});

describe('clinprompt adapt', () => {
  it('adapts a distilled meta-prompt to a target task: --json summary, run folder, trainable count', async () => {
    const budget = { backbone: STORIES_DIR, task: 'nli', steps: '3', lr: '0.3' };
    for (const v of SOURCES)
      await cli(
        'train',
        ...flags({
          ...budget,
          method: 'pt',
          'prompt-length': String(L),
          data: dir(`${v}.jsonl`),
          out: dir(`teacher-${v}`),
        }),
      );
    await cli(
      'distill',
      ...flags({
        ...budget,
        teachers: SOURCES.map((v) => dir(`teacher-${v}`)),
        data: SOURCES.map((v) => dir(`${v}.jsonl`)),
        task: SOURCES.map(() => 'nli'),
        out: dir('meta'),
      }),
    );

    const adapted = JSON.parse((await cli('--json', 'adapt', ...stage3)).stdout) as Record<string, unknown>;
    const trainable = L * D + L * 1 + 1 * D; // L*d + L*r + r*d, rank 1 (distill's default)
    const backbone = openBackbone(STORIES_DIR, { cacheDir: dir('cache') });
    expect(adapted).toMatchObject({
      method: 'mpt',
      trainableParameters: trainable,
      steps: 6,
      resumedFromStep: 0,
      outDir: dir('adapted'),
    });
    expect(adapted['trainableShare']).toBeCloseTo(trainable / backbone.parameters, 12);
    expect(adapted['firstLoss']).toEqual(expect.any(Number));
    expect(adapted['lastLoss']).toBeLessThan(adapted['firstLoss'] as number);

    const run = JSON.parse(readFileSync(dir('adapted/run.json'), 'utf8')) as Record<string, unknown>;
    expect(run).toMatchObject({
      method: 'mpt',
      settings: { meta: dir('meta'), init: 'fit', trained: 'uv-shared' },
      trainableParameters: trainable,
      backbone: { fingerprint: backbone.fingerprint() },
      data: { train: 4 }, // k = 2 per label, two labels
      steps: 6,
    });
    const config = JSON.parse(readFileSync(dir('adapted/adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({
      peft_type: 'MULTITASK_PROMPT_TUNING',
      num_virtual_tokens: L,
      num_tasks: 1,
      num_ranks: 1,
      token_dim: D,
    });
    const w = new SafetensorsWeights([dir('adapted/adapter_model.safetensors')]);
    expect([...w.tensors].map(([name, t]) => [name, t.shape]).sort()).toEqual([
      ['prefix_task_cols', [1, L, 1]],
      ['prefix_task_rows', [1, 1, D]],
      ['prompt_embeddings', [L, D]],
    ]);

    // train --method mpt with the same flags is the same run: it finds adapt's, finished
    const again = await cli('train', '--method', 'mpt', ...stage3);
    expect(again.stderr).toContain(`L*d + L*r + r*d = ${L}*${D} + ${L}*1 + 1*${D} = ${trainable} trainable = `);
    expect(again.stderr).toMatch(/ = 324 trainable = [\d.]+% of [\d,]+ parameters\./);
    expect(again.stdout).toMatch(/Trained mpt for 6 steps \(resumed at step 6\)/);
  });

  it('says what it does in --help and refuses flags of other methods', async () => {
    const help = await cli('adapt', '--help');
    expect(help.stdout).toMatch(/adapts a distilled meta-prompt P\*/);
    expect(help.stdout).toMatch(/--meta <value>/);
    const foreign = await runCliCaptured(['adapt', ...stage3, '--rank', '4'], env);
    expect(foreign.code).toBe(EXIT.usage);
    expect(foreign.stderr).toMatch(/unknown option '--rank'/);
  });
});
