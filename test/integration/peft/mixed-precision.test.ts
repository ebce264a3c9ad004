/**
 * Mixed precision through the trainer on a GPU provider: on WebGPU (Mesa's lavapipe where there is
 * no GPU, as in CI) the trainer builds the float16 graph and feeds the dynamic loss scale each
 * step; prompt tuning on the real stories260K model then learns as it does in float32 on the CPU.
 * (test/integration/engine/llama-training.test.ts checks the float16 step itself against float32,
 * and an overflowing scale being halved and its step skipped.)
 */
import { describe, expect, it } from 'vitest';

import { createSession, Graph, matmul, serialize } from '../../../src-main/engine/index.js';
import { readCheckpoint } from '../../../src-main/peft/checkpoint.js';
import { readTaskData } from '../../../src-main/services/training.js';
import { writeLearnableNli } from '../../support/learnable-task.js';
import { skipUnlessAvailable } from '../../support/prerequisites.js';
import { storiesTraining } from '../../support/training.js';

const probe = new Graph();
const x = probe.input('x', 'float32', [2, 2]);
const webgpuProbe = await createSession(serialize(probe, [{ name: 'y', tensor: matmul(x, x) }]), {
  provider: 'webgpu',
}).then(
  async (s) => (await s.release(), { ok: true, why: '' }),
  (e: unknown) => ({ ok: false, why: e instanceof Error ? e.message.slice(0, 160) : String(e) }),
);
const skip = skipUnlessAvailable(webgpuProbe.ok ? undefined : webgpuProbe.why, 'mixed-precision training on WebGPU');

const { dir, run } = storiesTraining('clinprompt-mixed-precision-', 1);

describe.skipIf(skip)(`mixed-precision training${skip ? ` - SKIPPED: ${webgpuProbe.why}` : ''}`, () => {
  it('prompt tuning in float16 on webgpu with dynamic loss scaling learns as float32 on cpu does', async () => {
    const data = await readTaskData(writeLearnableNli(dir('nli.jsonl'), { train: 48, dev: 0, test: 0 }), {
      task: 'nli',
    });
    const train = (provider: 'cpu' | 'webgpu') =>
      run('pt', { promptLength: 8 }, { steps: 30, lr: 0.3 }, data, provider, { provider });
    const [gpu, cpu] = [await train('webgpu'), await train('cpu')];
    expect(gpu.provider).toBe('webgpu');
    expect(cpu.provider).toBe('cpu');
    const tail = (losses: readonly number[]) => losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
    // the same first batch and prompt: the float16 loss equals the float32 one within half precision
    expect(Math.abs(gpu.firstLoss! - cpu.firstLoss!) / cpu.firstLoss!).toBeLessThan(0.02);
    // measured: 7.01 -> 4.72 in float16 on webgpu, 7.01 -> 4.88 in float32 on cpu (mean of the last 5 steps)
    expect(tail(gpu.losses)).toBeLessThan(0.8 * gpu.firstLoss!);
    expect(Math.abs(tail(gpu.losses) - tail(cpu.losses)) / tail(cpu.losses)).toBeLessThan(0.15);
    // the scaler's state is checkpointed with the run (no step of this one overflowed at 2^16)
    expect(readCheckpoint(dir('webgpu'))!.state.lossScale).toBe(2 ** 16);
  }, 120_000);
});
