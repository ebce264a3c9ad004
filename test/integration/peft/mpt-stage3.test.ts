/**
 * MPT stage 3's settings on the real stories260K model, from a distilled meta-prompt made by hand
 * (test/support/packs.ts: L 4, two source tasks, rank 2, seeded tensors): `trained: 'uv'` trains
 * only the task factors u, v (P* stays bit for bit what the meta-prompt holds, and is not counted),
 * and `init: 'average'` (PEFT's AVERAGE_SOURCE_TASKS) starts u, v at the means of the source
 * factors and trains from there. A few steps each.
 */
import { describe, expect, it } from 'vitest';

import { SafetensorsWeights } from '../../../src-main/backbone/hf/safetensors.js';
import { PREFIX_TASK_COLS, PREFIX_TASK_ROWS, PROMPT_EMBEDDINGS } from '../../../src-main/peft/adapter-folder.js';
import { createMethod } from '../../../src-main/peft/methods.js';
import { readMetaPrompt } from '../../../src-main/peft/mpt/model.js';
import { readRunRecord } from '../../../src-main/peft/run-folder.js';
import { trainableCount } from '../../../src-main/peft/trainer.js';
import { readTaskData } from '../../../src-main/services/training.js';
import { writeLearnableNli } from '../../support/learnable-task.js';
import { writeFakeRun } from '../../support/packs.js';
import { storiesTraining } from '../../support/training.js';

const { backbone, dir, run } = storiesTraining('clinprompt-mpt-stage3-', 5);
const d = backbone.config.hiddenSize;
writeFakeRun(dir('meta'), backbone, 'mpt-distill');
const meta = readMetaPrompt(dir('meta'), d);
const { length: L, rank: r, tasks: K } = meta;
const TRAIN = { steps: 4, lr: 0.3 };
const target = () =>
  readTaskData(writeLearnableNli(dir('lost.jsonl'), { train: 8, dev: 0, test: 0 }, 11, 'lost'), { task: 'nli' });

const adapterTensors = (name: string) => {
  const w = new SafetensorsWeights([dir(`${name}/adapter_model.safetensors`)]);
  return (tensor: string) => w.readFloat32(tensor);
};
const startOf = (settings: Record<string, unknown>) =>
  createMethod('mpt', { meta: dir('meta'), ...settings }, { backbone, backboneName: 'stories260K' }).initialValues(
    () => 0.5,
  );

describe('MPT stage 3 settings', () => {
  it("trained 'uv': P* stays bit-identical, u and v move, and L*r + r*d parameters train", async () => {
    const settings = { meta: dir('meta'), trained: 'uv' };
    const method = createMethod('mpt', settings, { backbone, backboneName: 'stories260K' });
    expect(method.trainables.map((t) => t.name)).toEqual([PREFIX_TASK_COLS, PREFIX_TASK_ROWS]);
    expect(trainableCount(method)).toBe(L * r + r * d);
    expect(method.countFormula).toBe(`L*r + r*d = ${L}*${r} + ${r}*${d}`);

    const summary = await run('mpt', settings, TRAIN, await target(), 'uv');
    expect(summary.trainableParameters).toBe(L * r + r * d);
    expect(summary.trainableShare).toBe((L * r + r * d) / backbone.parameters);
    expect(readRunRecord(dir('uv'))!.trainableParameters).toBe(L * r + r * d);

    const trained = adapterTensors('uv');
    expect(Buffer.from(trained(PROMPT_EMBEDDINGS).buffer)).toEqual(Buffer.from(meta.shared.buffer));
    const start = startOf({ trained: 'uv' });
    for (const name of [PREFIX_TASK_COLS, PREFIX_TASK_ROWS]) {
      const after = trained(name);
      const before = start.get(name)!;
      expect(after.length, name).toBe(before.length);
      const moved = after.reduce((n, x, i) => n + (x !== before[i] ? 1 : 0), 0);
      expect(moved, `${name}: ${moved} of ${after.length} values changed`).toBe(after.length);
    }
  });

  it("init 'average' starts u and v at the means of the source factors, and adapts from there", () => {
    const start = startOf({ init: 'average' });
    const u = start.get(PREFIX_TASK_COLS)!;
    const v = start.get(PREFIX_TASK_ROWS)!;
    expect([u.length, v.length]).toEqual([L * r, r * d]);
    const mean = (all: Float32Array, n: number, i: number) => {
      let s = 0;
      for (let k = 0; k < K; k++) s += all[k * n + i]!;
      return s / K;
    };
    u.forEach((x, i) => expect(Math.abs(x - mean(meta.cols, L * r, i)), `u[${i}]`).toBeLessThan(1e-7));
    v.forEach((x, i) => expect(Math.abs(x - mean(meta.rows, r * d, i)), `v[${i}]`).toBeLessThan(1e-7));
    // P* starts as the meta-prompt's, and the default start (fit) is another one
    expect([...start.get(PROMPT_EMBEDDINGS)!]).toEqual([...meta.shared]);
    expect([...startOf({}).get(PREFIX_TASK_COLS)!]).not.toEqual([...u]);
  });

  it("init 'average' trains: the loss is finite and falls, and u, v and P* leave their start", async () => {
    const summary = await run('mpt', { meta: dir('meta'), init: 'average' }, TRAIN, await target(), 'average');
    expect(summary.settings).toMatchObject({ init: 'average', trained: 'uv-shared' });
    expect(summary.trainableParameters).toBe(L * d + L * r + r * d);
    expect(Number.isFinite(summary.firstLoss)).toBe(true);
    expect(summary.lastLoss).toBeLessThan(summary.firstLoss!);
    const trained = adapterTensors('average');
    const start = startOf({ init: 'average' });
    for (const name of [PROMPT_EMBEDDINGS, PREFIX_TASK_COLS, PREFIX_TASK_ROWS])
      expect([...trained(name)], name).not.toEqual([...start.get(name)!]);
  });
});
