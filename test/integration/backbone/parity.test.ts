/**
 * Logits parity of the KV-cache inference graph (onnxruntime) with an independent PyTorch
 * implementation of transformers' LLaMA forward (test/reference/backbone_reference.py), on random-
 * weight HF folders the test writes: GQA LLaMA, Qwen2-style (q/k/v biases, tied embeddings,
 * llama3 rope scaling) in 3 shards, BF16 weights (widened to a float32 cache) and Mistral with F16
 * weights (cast inside the graph).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import path from 'node:path';

import { generate } from '../../../src-main/backbone/generate/decoding.js';
import { BackboneRunner } from '../../../src-main/backbone/generate/runner.js';
import { openBackbone } from '../../../src-main/backbone/load.js';
import { findTorchPython } from '../../reference/torch-python.js';
import { runCliCaptured } from '../../support/cli.js';
import { skipUnlessAvailable } from '../../support/prerequisites.js';
import { makeTempDir } from '../../support/temp.js';
import type { TinyFolderOptions } from '../../support/tiny-llama.js';
import { STORIES_DIR, writeTinyLlamaFolder } from '../../support/tiny-llama.js';
import { runBackboneReference } from './reference.js';

const torch = findTorchPython();

const VARIANTS: Record<string, TinyFolderOptions> = {
  'llama, GQA, untied, F32': {},
  'qwen2: biases, tied, llama3 rope scaling, 3 shards': {
    shards: 3,
    seed: 99,
    config: {
      architecture: 'qwen2',
      attentionBias: true,
      tieWordEmbeddings: true,
      ropeTheta: 500000,
      ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 16 },
    },
  },
  'llama, BF16 weights': { dtype: 'BF16', seed: 7 },
  'mistral, F16 weights (cast in the graph)': {
    dtype: 'F16',
    seed: 3,
    config: { architecture: 'mistral', slidingWindow: 4096 },
  },
};

const SEQUENCES = [
  [1, 403, 407, 261, 378, 11, 300, 420],
  [1, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150],
];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe.skipIf(skipUnlessAvailable(torch.python ? undefined : torch.why, 'PyTorch parity'))(
  `inference parity with PyTorch ${torch.why}`,
  () => {
    let tmp: ReturnType<typeof makeTempDir>;
    beforeAll(() => (tmp = makeTempDir()));
    afterAll(() => tmp.cleanup());

    it.each(Object.entries(VARIANTS))(
      '%s: logits with and without the KV cache, and greedy tokens',
      async (name, options) => {
        const dir = `${tmp.dir}/${name.replace(/\W+/g, '-')}`;
        writeTinyLlamaFolder(dir, options);
        const backbone = openBackbone(dir, { cacheDir: `${tmp.dir}/cache` });
        const runner = await BackboneRunner.create(backbone, { threads: 1 });
        try {
          const V = backbone.config.vocabSize;
          const prompt = 'Once upon a time';
          const ref = runBackboneReference<{ logits: number[][][]; tokens: number[] }>(torch.python!, {
            dir,
            mode: 'logits',
            ids: SEQUENCES,
            greedy: { ids: backbone.tokenizer.encode(prompt), max_tokens: 24 },
          });
          let worst = 0;
          for (const [s, ids] of SEQUENCES.entries()) {
            const expected = ref.logits[s]!.flat();
            // whole sequence in one step
            const full = await runner.step({
              ids: [ids],
              past: runner.emptyCache(1),
              logitPositions: [ids.map((_, k) => k)],
            });
            worst = Math.max(worst, maxAbsDiff(full.logits, expected));
            // prefix of 3, then one token at a time through the cache
            let out = await runner.step({
              ids: [ids.slice(0, 3)],
              past: runner.emptyCache(1),
              logitPositions: [[0, 1, 2]],
            });
            const cached = Array.from(out.logits);
            for (const id of ids.slice(3)) {
              out = await runner.step({ ids: [[id]], past: out.present });
              cached.push(...out.logits);
            }
            expect(cached.length).toBe(ids.length * V);
            worst = Math.max(worst, maxAbsDiff(cached, expected));
          }
          expect(worst).toBeLessThan(1e-4);

          const ours = await generate(runner, prompt, { maxTokens: 24 });
          // random models may emit EOS (id 2); compare up to where ours stopped
          expect(ours.tokens).toEqual(ref.tokens.slice(0, ours.tokens.length));
          expect(ours.tokens.length === 24 || ref.tokens[ours.tokens.length] === 2).toBe(true);
        } finally {
          await runner.release();
        }
      },
    );

    it('PyTorch on the HF folder that `backbone convert` writes from stories260K continues the story as llama2.c does', async () => {
      // independent of our ONNX graph: checks the llama2.c reader, the q/k RoPE permutation and tokenizer.json
      const dest = path.join(tmp.dir, 'stories-hf');
      const cli = await runCliCaptured(['backbone', 'convert', STORIES_DIR, dest]);
      expect(cli.code).toBe(0);
      const hf = openBackbone(dest);
      expect(hf.format).toBe('huggingface');
      const ids = hf.tokenizer.encode('Once upon a time');
      const ref = runBackboneReference<{ tokens: number[] }>(torch.python!, {
        dir: dest,
        mode: 'generate',
        ids,
        max_tokens: 40,
      });
      expect(hf.tokenizer.decode([...ids, ...ref.tokens])).toMatch(
        /^Once upon a time, there was a little girl named Lily\. She loved to play outside in the park\. One day, she saw a big, red ball/,
      );
      const again = await runCliCaptured(['backbone', 'convert', STORIES_DIR, dest]);
      expect(again.stderr).toMatch(/already holds a model/);
    });
  },
);
