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
import { llamaForward } from '../../../src-main/backbone/llama/model.js';
import {
  allFinite,
  buildTrainingModel,
  Graph,
  LOSS_SCALE_INPUT,
  LossScaler,
  serialize,
  createSession,
  inspectModel,
  liveNodes,
  ort,
  tokenCrossEntropy,
  toNumbers,
} from '../../../src-main/engine/index.js';
import type { Tensor } from '../../../src-main/engine/index.js';
import { findTorchPython, runReference } from '../../reference/torch-python.js';
import { skipUnlessAvailable } from '../../support/prerequisites.js';
import { gradCheck, random } from '../../unit/engine/gradcheck.js';
import {
  MICRO_CONFIG,
  inlineSource,
  promptTuningGraph,
  safetensorsSource,
  tinyBatch,
  tinyWeights,
  writeTinySafetensors,
} from '../../support/tiny-llama.js';

const dir = mkdtempSync(join(tmpdir(), 'engine-llama-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const L = 3;
const weights = tinyWeights(MICRO_CONFIG);
const r = random(11);
const promptValues = Array.from({ length: L * MICRO_CONFIG.hiddenSize }, () => r(-1, 1));

function relErr(a: readonly number[], b: readonly number[]): number {
  const diff = Math.hypot(...a.map((v, j) => v - b[j]!));
  return diff / Math.max(Math.hypot(...a), Math.hypot(...b));
}

function feeds(batch: ReturnType<typeof tinyBatch>, prompt: number[], dtype: 'float32' | 'float64' = 'float32') {
  const F = dtype === 'float32' ? Float32Array : Float64Array;
  return {
    prompt: new ort.Tensor(dtype, F.from(prompt), [L, MICRO_CONFIG.hiddenSize]),
    input_ids: new ort.Tensor('int64', BigInt64Array.from(batch.ids.map(BigInt)), batch.shape),
    targets: new ort.Tensor('int64', BigInt64Array.from(batch.targets.map(BigInt)), batch.shape),
    loss_mask: new ort.Tensor(dtype, F.from(batch.mask), batch.shape),
  };
}

describe('LLaMA prompt-tuning graph', () => {
  it('prompt gradient of the whole model matches float64 central differences', async () => {
    const batch = tinyBatch(MICRO_CONFIG, 2, 5);
    const { relErrors } = await gradCheck(
      [
        { shape: [L, MICRO_CONFIG.hiddenSize], values: promptValues },
        { shape: batch.shape, dtype: 'int64', values: batch.ids },
        { shape: batch.shape, dtype: 'int64', values: batch.targets },
        { shape: batch.shape, noGrad: true, values: batch.mask },
      ],
      (prompt, ids, targets, mask) => {
        const w = inlineSource(prompt.graph, weights, 'float64');
        return tokenCrossEntropy(llamaForward(MICRO_CONFIG, w, { inputIds: ids, prompt }).logits, targets, mask);
      },
    );
    expect(relErrors[0]).toBeLessThan(1e-6);
  });

  const torch = findTorchPython();
  it.skipIf(skipUnlessAvailable(torch.python ? undefined : torch.why, 'PyTorch parity'))(
    `loss and prompt gradient equal PyTorch's (float32, weights by offset into .safetensors)${torch.python ? '' : ` - SKIPPED: ${torch.why}`}`,
    async () => {
      const path = join(dir, 'tiny.safetensors');
      writeTinySafetensors(path, weights);
      const { graph, prompt, loss } = promptTuningGraph(MICRO_CONFIG, (g) => safetensorsSource(g, path), {
        promptLength: L,
      });
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
        const batch = tinyBatch(MICRO_CONFIG, b, t, seed);
        const out = await session.run(feeds(batch, promptValues));
        const ours = {
          loss: Number(out[model.lossOutput]!.data[0]),
          grad: toNumbers(out[model.gradientOutputs['prompt']!]!.data as Float32Array),
        };
        const ref = runReference<{ loss: number; grad: number[] }>(torch.python!, {
          config: MICRO_CONFIG,
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
    const { graph, prompt, loss } = promptTuningGraph(MICRO_CONFIG, (g) => inlineSource(g, weights, 'float32'), {
      promptLength: L,
    });
    const model = buildTrainingModel({ graph, loss, trainables: [prompt] });
    const weightNames = new Set(graph.tensors.filter((t) => t.source.kind === 'weight').map((t) => t.name));
    const transposes = graph.nodes.filter((n) => n.op.name === 'Transpose' && weightNames.has(n.inputs[0]!.name));
    expect(transposes).toEqual([]);
    expect(model.stats.ops['FusedMatMul']).toBeGreaterThan(0);
  });

  it('builds no weight gradient: no live tensor has a weight matrix shape', () => {
    const { graph, prompt, loss } = promptTuningGraph(MICRO_CONFIG, (g) => inlineSource(g, weights, 'float32'), {
      promptLength: L,
    });
    const model = buildTrainingModel({ graph, loss, trainables: [prompt] });
    const weightShapes = new Set(
      graph.tensors.filter((t) => t.source.kind === 'weight' && t.rank === 2).map((t) => t.shape.join('x')),
    );
    const live = liveNodes(
      graph,
      model.outputs.map((o) => o.tensor),
    );
    const weightShaped = live.flatMap((n) => n.outputs).filter((t) => weightShapes.has(t.shape.join('x')));
    expect(weightShaped.map((t) => t.toString())).toEqual([]);
  });

  it('float16 weights with a float32 prompt and dynamic loss scaling give the float32 result within half precision', async () => {
    const batch = tinyBatch(MICRO_CONFIG, 2, 6);
    const build = (half: boolean) => {
      const { graph, prompt, loss } = promptTuningGraph(
        MICRO_CONFIG,
        (g) => inlineSource(g, weights, half ? 'float16' : 'float32'),
        {
          promptLength: L,
          ...(half && { computeDtype: 'float16' as const }),
        },
      );
      return buildTrainingModel({ graph, loss, trainables: [prompt], ...(half && { lossScale: 'input' as const }) });
    };
    const run = async (model: ReturnType<typeof build>, scale?: number) => {
      const session = await createSession(model);
      const extra =
        scale === undefined ? {} : { [LOSS_SCALE_INPUT]: new ort.Tensor('float32', Float32Array.of(scale), []) };
      const out = await session.run({ ...feeds(batch, promptValues), ...extra });
      await session.release();
      const g = out[model.gradientOutputs['prompt']!]!;
      return {
        loss: Number(out[model.lossOutput]!.data[0]),
        grad: toNumbers(g.data as Float32Array),
        gradType: g.type,
      };
    };
    const halfModel = build(true);
    const full = await run(build(false));
    const scaler = new LossScaler(2 ** 24); // too large on purpose: float16 gradients overflow
    let half = await run(halfModel, scaler.scale);
    expect(scaler.update(allFinite([half.grad]))).toBe(false);
    expect(scaler.scale).toBe(2 ** 23);
    while (!allFinite([half.grad])) {
      half = await run(halfModel, scaler.scale);
      scaler.update(allFinite([half.grad]));
    }
    expect(scaler.scale).toBeGreaterThanOrEqual(2 ** 8);
    expect(half.gradType).toBe('float32');
    expect(Math.abs(half.loss - full.loss) / full.loss).toBeLessThan(1e-2);
    expect(relErr(half.grad, full.grad)).toBeLessThan(3e-2);
  });

  it('left padding with an attention mask reproduces the unpadded logits (RoPE is relative)', async () => {
    const graph = new Graph();
    const ids = graph.input('input_ids', 'int64', ['batch', 'tokens']);
    const attention = graph.input('attention_mask', 'int64', ['batch', 'tokens']);
    const { logits } = llamaForward(MICRO_CONFIG, inlineSource(graph, weights, 'float32'), {
      inputIds: ids,
      attentionMask: attention,
    });
    const session = await createSession(serialize(graph, [{ name: 'logits', tensor: logits }]));
    const tokens = [3, 1, 4, 1, 5];
    const run = async (padding: number) => {
      const seq = [...Array<number>(padding).fill(0), ...tokens];
      const mask = seq.map((_, k) => (k < padding ? 0 : 1));
      const out = await session.run({
        input_ids: new ort.Tensor('int64', BigInt64Array.from(seq.map(BigInt)), [1, seq.length]),
        attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask.map(BigInt)), [1, seq.length]),
      });
      return toNumbers(out['logits']!.data as Float32Array).slice(padding * MICRO_CONFIG.vocabSize);
    };
    const [plain, padded] = [await run(0), await run(3)];
    expect(padded.every(Number.isFinite)).toBe(true);
    expect(relErr(padded, plain)).toBeLessThan(1e-5);
    await session.release();
  });

  it('weight gradients: every weight of a tied-embedding model trainable with symbolic batch x tokens builds, and matches float64 central differences', async () => {
    const tied = { ...MICRO_CONFIG, tieWordEmbeddings: true };
    const tiedWeights = tinyWeights(tied, 9);
    // Building with symbolic (batch, tokens) once failed in MatMul's VJP: two names for one row count.
    const graph = new Graph();
    const inputs = new Map([...tiedWeights].map(([name, w]) => [name, graph.input(name, 'float32', w.shape)]));
    const ids = graph.input('input_ids', 'int64', ['batch', 'tokens']);
    const targets = graph.input('targets', 'int64', ['batch', 'tokens']);
    const mask = graph.input('loss_mask', 'float32', ['batch', 'tokens']);
    const { logits } = llamaForward(tied, (name) => inputs.get(name)!, { inputIds: ids });
    const model = buildTrainingModel({
      graph,
      loss: tokenCrossEntropy(logits, targets, mask),
      trainables: [...inputs.values()],
    });
    expect(Object.keys(model.gradientOutputs).sort()).toEqual([...tiedWeights.keys()].sort());

    // Numerically, on a few weights (the tied table feeds both the embedding and the output head).
    const checked = [
      'model.embed_tokens.weight',
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.1.mlp.down_proj.weight',
      'model.norm.weight',
    ];
    const batch = tinyBatch(tied, 2, 4);
    const { relErrors } = await gradCheck(
      [
        ...checked.map((name) => ({ shape: tiedWeights.get(name)!.shape, values: [...tiedWeights.get(name)!.values] })),
        { shape: batch.shape, dtype: 'int64', values: batch.ids },
        { shape: batch.shape, dtype: 'int64', values: batch.targets },
        { shape: batch.shape, noGrad: true, values: batch.mask },
      ],
      (...xs) => {
        const [idsT, targetsT, maskT] = xs.slice(checked.length) as [Tensor, Tensor, Tensor];
        const frozen = inlineSource(idsT.graph, tiedWeights, 'float64');
        const w = (name: string) => (checked.includes(name) ? xs[checked.indexOf(name)]! : frozen(name));
        return tokenCrossEntropy(llamaForward(tied, w, { inputIds: idsT }).logits, targetsT, maskT);
      },
    );
    for (const e of relErrors) expect(e).toBeLessThan(1e-6);
  });
});
