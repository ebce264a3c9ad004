/**
 * The LLaMA-architecture training graph end to end: the whole model's prompt gradient against
 * float64 central differences; loss and prompt gradient against an independent PyTorch reference
 * (test/reference/llama_reference.py) with weights read as external data by offset from a
 * .safetensors file; no weight copied by onnxruntime's optimizer; symbolic batch/token sizes; and
 * float16 weights with float32 prompt and loss scaling.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { llamaForward } from '../../../src-main/backbone/llama/graph.js';
import {
  buildTrainingModel,
  createSession,
  inspectModel,
  ort,
  tokenCrossEntropy,
  toNumbers,
} from '../../../src-main/engine/index.js';
import { findTorchPython, runReference } from '../../reference/torch-python.js';
import { gradCheck, random } from '../../unit/engine/gradcheck.js';
import {
  TINY,
  inlineSource,
  promptTuningGraph,
  safetensorsSource,
  tinyBatch,
  tinyWeights,
  writeTinySafetensors,
} from './tiny-llama.js';

const dir = mkdtempSync(join(tmpdir(), 'engine-llama-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const L = 3;
const weights = tinyWeights(TINY);
const r = random(11);
const promptValues = Array.from({ length: L * TINY.hiddenSize }, () => r(-1, 1));

function relErr(a: readonly number[], b: readonly number[]): number {
  const diff = Math.hypot(...a.map((v, j) => v - b[j]!));
  return diff / Math.max(Math.hypot(...a), Math.hypot(...b));
}

function feeds(batch: ReturnType<typeof tinyBatch>, prompt: number[], dtype: 'float32' | 'float64' = 'float32') {
  const F = dtype === 'float32' ? Float32Array : Float64Array;
  return {
    prompt: new ort.Tensor(dtype, F.from(prompt), [L, TINY.hiddenSize]),
    input_ids: new ort.Tensor('int64', BigInt64Array.from(batch.ids.map(BigInt)), batch.shape),
    targets: new ort.Tensor('int64', BigInt64Array.from(batch.targets.map(BigInt)), batch.shape),
    loss_mask: new ort.Tensor(dtype, F.from(batch.mask), batch.shape),
  };
}

describe('LLaMA prompt-tuning graph', () => {
  it('prompt gradient of the whole model matches float64 central differences', async () => {
    const batch = tinyBatch(TINY, 2, 5);
    const { relErrors } = await gradCheck(
      [
        { shape: [L, TINY.hiddenSize], values: promptValues },
        { shape: batch.shape, dtype: 'int64', values: batch.ids },
        { shape: batch.shape, dtype: 'int64', values: batch.targets },
        { shape: batch.shape, noGrad: true, values: batch.mask },
      ],
      (prompt, ids, targets, mask) => {
        const w = inlineSource(prompt.graph, weights, 'float64');
        return tokenCrossEntropy(llamaForward(TINY, w, { inputIds: ids, prompt }).logits, targets, mask);
      },
    );
    expect(relErrors[0]).toBeLessThan(1e-6);
  });

  const torch = findTorchPython();
  it.skipIf(!torch.python)(
    `loss and prompt gradient equal PyTorch's (float32, weights by offset into .safetensors)${torch.python ? '' : ` - SKIPPED: ${torch.why}`}`,
    async () => {
      const path = join(dir, 'tiny.safetensors');
      writeTinySafetensors(path, weights);
      const { graph, prompt, loss } = promptTuningGraph(TINY, (g) => safetensorsSource(g, path), { promptLength: L });
      const model = buildTrainingModel({ graph, loss, trainables: [prompt] });
      expect(model.externalDataDir).toBe(dir);
      // Every weight is referenced in the .safetensors file, none copied into the model.
      const facts = inspectModel(model.bytes);
      const weightBytes = [...weights.values()].reduce((a, w) => a + 4 * w.values.length, 0);
      expect(facts.externalBytes).toBe(weightBytes);
      expect(facts.initializerBytes - facts.externalBytes).toBeLessThan(1024);
      const optimizedPath = join(dir, 'optimized.onnx');
      const session = await createSession(model, { optimizedModelPath: optimizedPath });
      expect(session.provider).toBe('cpu');

      // Two batch shapes through one session: batch and token counts are symbolic.
      for (const [b, t, seed] of [
        [2, 6, 3],
        [1, 9, 4],
      ] as const) {
        const batch = tinyBatch(TINY, b, t, seed);
        const out = await session.run(feeds(batch, promptValues));
        const ours = {
          loss: Number(out[model.lossOutput]!.data[0]),
          grad: toNumbers(out[model.gradientOutputs['prompt']!]!.data as Float32Array),
        };
        const ref = runReference<{ loss: number; grad: number[] }>(torch.python!, {
          config: TINY,
          weights: path,
          prompt: promptValues,
          prompt_length: L,
          ...batch,
          dtype: 'float32',
        });
        expect(Math.abs(ours.loss - ref.loss) / Math.abs(ref.loss)).toBeLessThan(1e-4);
        expect(relErr(ours.grad, ref.grad)).toBeLessThan(1e-4);
      }
      await session.release();

      // onnxruntime's optimizer kept one copy of each weight (no constant-folded Transpose(W)).
      const original = inspectModel(model.bytes).initializerBytes;
      const optimized = inspectModel(readFileSync(optimizedPath)).initializerBytes;
      expect(optimized).toBeLessThan(original * 1.05);
    },
  );

  it('has no Transpose node applied to a weight', () => {
    const { graph, prompt, loss } = promptTuningGraph(TINY, (g) => inlineSource(g, weights, 'float32'), {
      promptLength: L,
    });
    const model = buildTrainingModel({ graph, loss, trainables: [prompt] });
    const weightNames = new Set(graph.tensors.filter((t) => t.source.kind === 'weight').map((t) => t.name));
    const transposes = graph.nodes.filter((n) => n.op.name === 'Transpose' && weightNames.has(n.inputs[0]!.name));
    expect(transposes).toEqual([]);
    expect(model.stats.ops['FusedMatMul']).toBeGreaterThan(0);
  });

  it('float16 weights with a float32 prompt and loss scaling give the float32 result within half precision', async () => {
    const batch = tinyBatch(TINY, 2, 6);
    const run = async (half: boolean) => {
      const { graph, prompt, loss } = promptTuningGraph(
        TINY,
        (g) => inlineSource(g, weights, half ? 'float16' : 'float32'),
        {
          promptLength: L,
          ...(half && { computeDtype: 'float16' as const }),
        },
      );
      const model = buildTrainingModel({ graph, loss, trainables: [prompt], lossScale: half ? 1024 : 1 });
      const session = await createSession(model);
      const out = await session.run(feeds(batch, promptValues));
      await session.release();
      return {
        loss: Number(out[model.lossOutput]!.data[0]),
        grad: toNumbers(out[model.gradientOutputs['prompt']!]!.data as Float32Array),
        gradType: out[model.gradientOutputs['prompt']!]!.type,
      };
    };
    const [full, half] = [await run(false), await run(true)];
    expect(half.gradType).toBe('float32');
    expect(Math.abs(half.loss - full.loss) / full.loss).toBeLessThan(1e-2);
    expect(relErr(half.grad, full.grad)).toBeLessThan(3e-2);
  });
});
