/**
 * The training step of every method against an independent PyTorch reference
 * (test/reference/train_reference.py: hand-written LoRA, full fine-tuning on every weight, a soft
 * prompt as peft's PeftModelForCausalLM, transformers' shifted causal-LM loss with -100 labels):
 * on a tiny Hugging Face folder, our loss and the gradient of every trainable, named as PEFT saves
 * them, equal PyTorch's (float64 there, float32 here) for a batch of one and for a right-padded
 * batch of two examples of different lengths with its attention mask.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Backbone } from '../../../src-main/backbone/load.js';
import { openBackbone } from '../../../src-main/backbone/load.js';
import { createSession, ort, toNumbers } from '../../../src-main/engine/index.js';
import type { TokenizedExample } from '../../../src-main/peft/batches.js';
import { collate } from '../../../src-main/peft/batches.js';
import { createMethod } from '../../../src-main/peft/methods.js';
import { buildMethodTrainingModel } from '../../../src-main/peft/training-graph.js';
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
  { name: 'full fine-tuning', method: 'full', settings: {} },
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
  let backbone: Backbone;
  beforeAll(() => {
    tmp = makeTempDir();
    writeTinyLlamaFolder(tmp.dir);
    backbone = openBackbone(tmp.dir);
  });
  afterAll(() => tmp.cleanup());

  for (const c of CASES)
    it(`${c.name}: loss and every trainable's gradient`, async () => {
      const method = createMethod(c.method, { ...c.settings }, { backbone, backboneName: 'tiny' });
      expect(method.stepInputs ?? []).toEqual([]); // no dropout: the step is deterministic
      // Random values for PT and LoRA, with B != 0 so that A's gradient is not zero.
      const r = seededRandom(7);
      const values =
        c.method === 'full'
          ? method.initialValues(() => 0)
          : new Map(method.trainables.map((t) => [t.name, Float32Array.from({ length: size(t.shape) }, () => r())]));

      const model = buildMethodTrainingModel(backbone.config, backbone.tensors, method);
      const session = await createSession(model, { threads: 1 });
      const batches = Object.entries(BATCHES).map(([what, indices]) => ({
        what,
        indices,
        batch: collate(EXAMPLES, indices, PAD),
      }));
      const ours: { loss: number; grads: Map<string, number[]> }[] = [];
      try {
        for (const { batch } of batches) {
          const feeds: Record<string, ort.Tensor> = { ...batch.feeds };
          for (const t of method.trainables)
            feeds[t.name] = new ort.Tensor('float32', values.get(t.name)!, [...t.shape]);
          const out = await session.run(feeds);
          ours.push({
            loss: Number(out[model.lossOutput]!.data[0]),
            grads: new Map(
              method.trainables.map((t) => [
                t.name,
                toNumbers(out[model.gradientOutputs[t.name]!]!.data as Float32Array),
              ]),
            ),
          });
        }
      } finally {
        await session.release();
      }

      const reference = runJsonProcess<{ results: Reference[] }>(
        torch.python!,
        [TRAIN_REFERENCE_SCRIPT],
        {
          dir: tmp.dir,
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
    });
});

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
