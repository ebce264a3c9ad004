/**
 * The training step of every method against an independent PyTorch reference
 * (test/reference/train_reference.py: hand-written LoRA, full fine-tuning on every weight, a soft
 * prompt as peft's PeftModelForCausalLM, transformers' shifted causal-LM loss with -100 labels):
 * on a tiny Hugging Face folder, our loss and the gradient of every trainable (through the
 * trainer's own step, training-step.ts), named as PEFT saves them, equal PyTorch's (float64
 * there, float32 here) for a batch of one and for a right-padded batch of two examples of
 * different lengths with its attention mask. Full fine-tuning is checked both layer by layer (the
 * default) and as one graph, with untied and tied embeddings, and with one layer.
 */
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openBackbone } from '../../../src-main/backbone/load.js';
import type { ort } from '../../../src-main/engine/index.js';
import { toNumbers } from '../../../src-main/engine/index.js';
import type { TokenizedExample } from '../../../src-main/peft/batches.js';
import { collate } from '../../../src-main/peft/batches.js';
import { createMethod } from '../../../src-main/peft/methods.js';
import { startTrainingStep } from '../../../src-main/peft/training-step.js';
import { findTorchPython, runJsonProcess, TRAIN_REFERENCE_SCRIPT } from '../../reference/torch-python.js';
import { skipUnlessAvailable } from '../../support/prerequisites.js';
import { makeTempDir } from '../../support/temp.js';
import { seededRandom, writeTinyLlamaFolder } from '../../support/tiny-llama.js';

const PAD = 2;
const PROMPT_LENGTH = 4;
const LORA = { rank: 4, alpha: 8 };

/** Two examples of different lengths; the target starts after the prompt part. */
const EXAMPLES: TokenizedExample[] = [
  { ids: [1, 45, 300, 12, 77, 9, 410, 23, 5, 2], targetStart: 6 },
  { ids: [1, 88, 7, 260, 31, 2], targetStart: 3 },
];
const BATCHES = { 'one example': [0], 'padded batch of two': [0, 1] } as const;

const CASES = [
  { name: 'prompt tuning', method: 'pt', settings: { promptLength: PROMPT_LENGTH } },
  { name: 'LoRA on q_proj, v_proj', method: 'lora', settings: { ...LORA, targetModules: ['q_proj', 'v_proj'] } },
  {
    name: 'LoRA on every linear layer',
    method: 'lora',
    settings: {
      ...LORA,
      targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
    },
  },
  { name: 'full fine-tuning (layer by layer, the default)', method: 'full', settings: {} },
  { name: 'full fine-tuning (one graph)', method: 'full', settings: { gradientCheckpointing: 'off' } },
  {
    name: 'full fine-tuning (layer by layer) with tied embeddings and 3 layers',
    method: 'full',
    settings: {},
    config: { tieWordEmbeddings: true, numLayers: 3 },
  },
  {
    name: 'full fine-tuning (layer by layer) of a one-layer model',
    method: 'full',
    settings: {},
    config: { numLayers: 1 },
  },
] as const;

/** transformers' labels: the example's own ids at target positions, -100 elsewhere and on padding. */
function hfLabels(indices: readonly number[], tokens: number): number[][] {
  return indices.map((i) => {
    const { ids, targetStart } = EXAMPLES[i]!;
    return Array.from({ length: tokens }, (_, k) => (k < ids.length && k >= targetStart ? ids[k]! : -100));
  });
}

function rows(t: ort.Tensor): number[][] {
  const [b, n] = t.dims as [number, number];
  const flat = Array.from(t.data as BigInt64Array, Number);
  return Array.from({ length: b }, (_, r) => flat.slice(r * n, (r + 1) * n));
}

function norm(a: readonly number[]): number {
  return Math.sqrt(a.reduce((s, x) => s + x * x, 0));
}

function relErr(a: readonly number[], b: readonly number[]): number {
  return norm(a.map((x, i) => x - b[i]!)) / Math.max(norm(a), norm(b));
}

interface Reference {
  loss: number;
  grads: Record<string, number[]>;
}

const torch = findTorchPython();
const skip = skipUnlessAvailable(torch.python ? undefined : torch.why, 'PyTorch training-gradient parity');

describe.skipIf(skip)(`training gradients equal PyTorch's${skip ? ` - SKIPPED: ${torch.why}` : ''}`, () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeAll(() => {
    tmp = makeTempDir();
  });
  afterAll(() => tmp.cleanup());

  CASES.forEach((c, n) =>
    it(`${c.name}: loss and every trainable's gradient`, async () => {
      const dir = path.join(tmp.dir, String(n));
      writeTinyLlamaFolder(dir, 'config' in c ? { config: c.config } : {});
      const backbone = openBackbone(dir);
      const method = createMethod(c.method, { ...c.settings }, { backbone, backboneName: 'tiny' });
      expect(method.stepInputs ?? []).toEqual([]); // no dropout: the step is deterministic
      // Random values for PT and LoRA, with B != 0 so that A's gradient is not zero.
      const r = seededRandom(7);
      const values =
        c.method === 'full'
          ? method.initialValues(() => 0)
          : new Map(method.trainables.map((t) => [t.name, Float32Array.from({ length: size(t.shape) }, () => r())]));

      // the trainer's step: one graph, or full fine-tuning's layer-by-layer sessions
      const step = await startTrainingStep({
        config: backbone.config,
        tensors: backbone.tensors,
        method,
        dtype: 'float32',
        session: { threads: 1 },
      });
      const batches = Object.entries(BATCHES).map(([what, indices]) => ({
        what,
        indices,
        batch: collate(EXAMPLES, indices, PAD),
      }));
      const ours: { loss: number; grads: Map<string, number[]> }[] = [];
      try {
        for (const { batch } of batches) {
          const out = await step.run(batch.feeds, values);
          ours.push({
            loss: out.loss,
            grads: new Map(method.trainables.map((t) => [t.name, toNumbers(out.grads.get(t.name)!)])),
          });
        }
      } finally {
        await step.release();
      }

      const reference = runJsonProcess<{ results: Reference[] }>(
        torch.python!,
        [TRAIN_REFERENCE_SCRIPT],
        {
          dir,
          method: c.method,
          ...(c.method === 'lora' && {
            lora: { r: LORA.rank, alpha: LORA.alpha, target_modules: c.settings.targetModules },
          }),
          ...(c.method !== 'full' && { values: Object.fromEntries([...values].map(([n, v]) => [n, Array.from(v)])) }),
          batches: batches.map(({ indices, batch }) => ({
            input_ids: rows(batch.feeds['input_ids']!),
            attention_mask: rows(batch.feeds['attention_mask']!),
            labels: hfLabels(indices, batch.tokens),
          })),
          dtype: 'float64',
        },
        { what: 'PyTorch training reference' },
      );

      batches.forEach(({ what }, k) => {
        const [mine, ref] = [ours[k]!, reference.results[k]!];
        expect(Math.abs(mine.loss - ref.loss) / ref.loss, `${what}: loss ${mine.loss} vs ${ref.loss}`).toBeLessThan(
          1e-4,
        );
        // The same set of trainables, named as PEFT names them, on both sides.
        expect(Object.keys(ref.grads).sort()).toEqual([...mine.grads.keys()].sort());
        for (const [name, grad] of mine.grads) {
          const theirs = ref.grads[name]!;
          expect(norm(theirs), `${what}: ${name} has a gradient`).toBeGreaterThan(0);
          expect(relErr(grad, theirs), `${what}: gradient of ${name}`).toBeLessThan(1e-4);
        }
      });
    }),
  );
});

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
