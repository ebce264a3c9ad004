/**
 * Execution providers: cpu always works; 'auto' tries the GPU providers first and falls back,
 * reporting the provider in use and why the others were skipped; an explicitly requested provider
 * that cannot start is a UserError that says what to choose instead. Where WebGPU can start (e.g.
 * CI with Mesa 25's lavapipe), the tiny LLaMA training step on webgpu equals cpu within float32
 * tolerance; elsewhere that check is skipped and says why.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isUserError } from '../../../src-main/common/errors.js';
import type { ProviderName } from '../../../src-main/engine/index.js';
import {
  autoProviderOrder,
  buildTrainingModel,
  computeDtypeFor,
  createSession,
  LOSS_SCALE_INPUT,
  ort,
  probeProvider,
  toNumbers,
} from '../../../src-main/engine/index.js';
import { random } from '../../unit/engine/gradcheck.js';
import { skipUnlessAvailable } from '../../support/prerequisites.js';
import { MICRO_CONFIG, inlineSource, promptTuningGraph, tinyBatch, tinyWeights } from '../../support/tiny-llama.js';

const L = 2;
const weights = tinyWeights(MICRO_CONFIG, 5);
const { graph, prompt, loss } = promptTuningGraph(MICRO_CONFIG, (g) => inlineSource(g, weights, 'float32'), {
  promptLength: L,
});
const model = buildTrainingModel({ graph, loss, trainables: [prompt] });
const batch = tinyBatch(MICRO_CONFIG, 2, 6);
const r = random(2);
const feeds = {
  prompt: new ort.Tensor(
    'float32',
    Float32Array.from({ length: L * MICRO_CONFIG.hiddenSize }, () => r()),
    [L, MICRO_CONFIG.hiddenSize],
  ),
  input_ids: new ort.Tensor('int64', BigInt64Array.from(batch.ids.map(BigInt)), batch.shape),
  targets: new ort.Tensor('int64', BigInt64Array.from(batch.targets.map(BigInt)), batch.shape),
  loss_mask: new ort.Tensor('float32', Float32Array.from(batch.mask), batch.shape),
};

async function step(provider: ProviderName) {
  const session = await createSession(model, { provider });
  const out = await session.run(feeds);
  await session.release();
  return {
    loss: Number(out['loss']!.data[0]),
    grad: toNumbers(out[model.gradientOutputs['prompt']!]!.data as Float32Array),
  };
}

const webgpuProbe = await createSession(model, { provider: 'webgpu' }).then(
  async (s) => (await s.release(), { ok: true, why: '' }),
  (e: unknown) => ({ ok: false, why: e instanceof Error ? e.message.slice(0, 160) : String(e) }),
);
// CI installs Mesa 25's lavapipe, so WebGPU must start there (test/support/prerequisites.ts).
const webgpu = {
  ...webgpuProbe,
  ok: !skipUnlessAvailable(webgpuProbe.ok ? undefined : webgpuProbe.why, 'WebGPU tests'),
};

describe('execution providers', () => {
  it('auto tries GPU providers first, always ends with cpu, and reports the provider in use', async () => {
    const order = autoProviderOrder();
    expect(order.at(-1)).toBe('cpu');
    // Without a GPU render node, WebGPU could only use lavapipe (a CPU rasterizer): not chosen automatically.
    if (process.platform === 'linux' && !existsSync('/dev/dri')) expect(order).not.toContain('webgpu');
    const session = await createSession(model, { provider: 'auto' });
    expect(order).toContain(session.provider);
    expect(session.attempts.at(-1)).toEqual({ provider: session.provider, ok: true });
    for (const a of session.attempts.slice(0, -1)) expect(a.reason).toBeTruthy();
    const out = await session.run(feeds);
    expect(Number.isFinite(Number(out['loss']!.data[0]))).toBe(true);
    await session.release();
  });

  it('probeProvider picks the provider a graph should be built for, and its compute dtype', async () => {
    const { provider, attempts } = await probeProvider('auto');
    expect(attempts.at(-1)).toEqual({ provider, ok: true });
    expect(computeDtypeFor(provider)).toBe(provider === 'cpu' ? 'float32' : 'float16');
    expect((await probeProvider('cpu')).provider).toBe('cpu');
  });

  it('an explicitly chosen provider that cannot start is a UserError naming the alternatives', async () => {
    const cuda = await createSession(model, { provider: 'cuda' }).then(
      (s) => s,
      (e: unknown) => e,
    );
    if (isUserError(cuda)) {
      expect(cuda.code).toBe('UNSUPPORTED');
      expect(cuda.message).toMatch(/cuda execution provider could not start .* Choose "auto" or "cpu"/);
    } else {
      expect((cuda as { provider: string }).provider).toBe('cuda'); // a machine with CUDA libraries
    }
  });

  it.skipIf(!webgpu.ok)(
    `webgpu: float16 weights, float32 prompt and loss scaling give the cpu float32 result within half precision${webgpu.ok ? '' : ` - SKIPPED: ${webgpu.why}`}`,
    async () => {
      const half = promptTuningGraph(MICRO_CONFIG, (g) => inlineSource(g, weights, 'float16'), {
        promptLength: L,
        computeDtype: computeDtypeFor('webgpu'),
      });
      const halfModel = buildTrainingModel({ ...half, trainables: [half.prompt], lossScale: 'input' });
      const session = await createSession(halfModel, { provider: 'webgpu' });
      expect(session.provider).toBe('webgpu');
      const out = await session.run({
        ...feeds,
        [LOSS_SCALE_INPUT]: new ort.Tensor('float32', Float32Array.of(1024), []),
      });
      await session.release();
      const cpu = await step('cpu');
      const grad = toNumbers(out[halfModel.gradientOutputs['prompt']!]!.data as Float32Array);
      expect(Math.abs(Number(out['loss']!.data[0]) - cpu.loss) / cpu.loss).toBeLessThan(1e-2);
      expect(Math.hypot(...grad.map((v, j) => v - cpu.grad[j]!)) / Math.hypot(...cpu.grad)).toBeLessThan(3e-2);
    },
  );

  it.skipIf(!webgpu.ok)(
    `webgpu equals cpu within float32 tolerance${webgpu.ok ? '' : ` - SKIPPED: ${webgpu.why}`}`,
    async () => {
      const [cpu, gpu] = [await step('cpu'), await step('webgpu')];
      expect(Math.abs(gpu.loss - cpu.loss) / cpu.loss).toBeLessThan(1e-4);
      const diff = Math.hypot(...gpu.grad.map((v, j) => v - cpu.grad[j]!));
      expect(diff / Math.hypot(...cpu.grad)).toBeLessThan(1e-4);
    },
  );
});
