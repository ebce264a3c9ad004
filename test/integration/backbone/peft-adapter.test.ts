/**
 * PEFT adapter folders (adapter_config.json + adapter_model.safetensors) applied at inference:
 * prompt tuning and multitask prompt tuning on stories260K (a prompt made of real token
 * embeddings must act like those tokens), LoRA on q/v projections (PEFT's default targets) of a
 * random HF folder (greedy tokens and logits must equal the merged weights W + (alpha/r) B A),
 * and adapters from another backbone refused.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generate } from '../../../src-main/backbone/generate/decoding.js';
import type { GraphAdapter } from '../../../src-main/backbone/generate/inference-graph.js';
import { loadPeftAdapter } from '../../../src-main/peft/adapter-folder.js';
import { loraGraphAdapter } from '../../../src-main/peft/lora/layer.js';
import { softPrompt } from '../../../src-main/peft/prompts.js';
import { BackboneRunner } from '../../../src-main/backbone/generate/runner.js';
import { scoreContinuations } from '../../../src-main/backbone/generate/scoring.js';
import { EMBED_TOKENS } from '../../../src-main/backbone/hf/llama-tensors.js';
import type { TensorToWrite } from '../../../src-main/backbone/hf/safetensors-writer.js';
import { writeModelSafetensors, writeSafetensorsFile } from '../../../src-main/backbone/hf/safetensors-writer.js';
import { openBackbone } from '../../../src-main/backbone/load.js';
import { runCliCaptured } from '../../support/cli.js';
import { makeTempDir } from '../../support/temp.js';
import { seededRandom, STORIES_DIR, writeTinyLlamaFolder } from '../../support/tiny-llama.js';

function writeAdapter(dir: string, config: Record<string, unknown>, tensors: TensorToWrite[]): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify(config));
  writeSafetensorsFile(path.join(dir, 'adapter_model.safetensors'), tensors);
  return dir;
}

describe('PEFT adapters at inference', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeAll(() => (tmp = makeTempDir()));
  afterAll(() => tmp.cleanup());

  it('prompt tuning and MPT prompts on stories260K act like the tokens they embed', async () => {
    const b = openBackbone(STORIES_DIR, { cacheDir: tmp.dir });
    const d = b.config.hiddenSize;
    const table = b.weights.readFloat32(EMBED_TOKENS);
    const ids = b.tokenizer.encode('Once upon'); // [BOS, ' Once', ' upon']
    const L = ids.length;
    const pStar = new Float32Array(L * d);
    ids.forEach((id, k) => pStar.set(table.subarray(id * d, (id + 1) * d), k * d));
    const pt = writeAdapter(
      path.join(tmp.dir, 'pt'),
      { peft_type: 'PROMPT_TUNING', num_virtual_tokens: L, token_dim: d },
      [{ name: 'prompt_embeddings', shape: [L, d], data: pStar }],
    );
    // MPT with 2 tasks, rank 1: task 1 has u = 1, v = 1 (P^ = P*), task 0 has u = 0 (P^ = 0)
    const mpt = writeAdapter(
      path.join(tmp.dir, 'mpt'),
      { peft_type: 'MULTITASK_PROMPT_TUNING', num_virtual_tokens: L, token_dim: d, num_tasks: 2 },
      [
        { name: 'prompt_embeddings', shape: [L, d], data: pStar },
        {
          name: 'prefix_task_cols',
          shape: [2, L, 1],
          data: Float32Array.from({ length: 2 * L }, (_, i) => (i < L ? 0 : 1)),
        },
        { name: 'prefix_task_rows', shape: [2, 1, d], data: new Float32Array(2 * d).fill(1) },
      ],
    );
    const runner = await BackboneRunner.create(b, { threads: 1 });
    try {
      const plain = await generate(runner, 'Once upon a time', { maxTokens: 20 });
      const run = (prompt: ReturnType<typeof loadPeftAdapter>['prompt']) =>
        generate(runner, 'a time', { prompt, addSpecialTokens: false, maxTokens: 20 });
      expect((await run(loadPeftAdapter(pt, b.config).prompt)).tokens).toEqual(plain.tokens);
      expect((await run(loadPeftAdapter(mpt, b.config, { taskId: 1 }).prompt)).tokens).toEqual(plain.tokens);
      expect((await run(loadPeftAdapter(mpt, b.config, { taskId: 0 }).prompt)).tokens).not.toEqual(plain.tokens);
      expect(() => loadPeftAdapter(mpt, b.config, { taskId: 2 })).toThrow(
        expect.objectContaining({ field: 'taskId', message: expect.stringMatching(/must be 0\.\.1/) }),
      );
      // scoring with the prompt equals scoring after the tokens it embeds
      const candidates = [', there was', ' in the park', ' zq'];
      const viaPrompt = await scoreContinuations(runner, 'a time', candidates, {
        prompt: loadPeftAdapter(pt, b.config).prompt,
        addSpecialTokens: false,
      });
      const plainScores = await scoreContinuations(runner, 'Once upon a time', candidates);
      viaPrompt.forEach((v, k) => expect(v).toBeCloseTo(plainScores[k]!, 4));
      expect(() => softPrompt(new Float32Array(10), d)).toThrow(/trained on another backbone/);
    } finally {
      await runner.release();
    }
    // the CLI applies the adapter too
    const cli = await runCliCaptured(
      ['--json', 'generate', '--backbone', STORIES_DIR, '--adapter', pt, '--prompt', 'a time', '--max-tokens', '5'],
      {
        CLINPROMPT_MODEL_CACHE: tmp.dir,
      },
    );
    expect(cli.code).toBe(0);
  });

  it('a LoRA adapter gives the same greedy tokens as the merged checkpoint, and a foreign one is refused', async () => {
    const baseDir = path.join(tmp.dir, 'base');
    writeTinyLlamaFolder(baseDir);
    const base = openBackbone(baseDir);
    const rank = 2;
    const alpha = 4;
    const rand = seededRandom(5);
    const merged = [...base.tensors.keys()].map((name) => ({
      name,
      shape: base.tensors.get(name)!.shape,
      data: base.weights.readFloat32(name),
    }));
    const adapterTensors: TensorToWrite[] = [];
    for (const module of [
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.v_proj',
      'model.layers.1.self_attn.q_proj',
    ]) {
      const t = merged.find((m) => m.name === `${module}.weight`)!;
      const [out, inn] = t.shape as [number, number];
      const a = Float32Array.from({ length: rank * inn }, () => 0.5 * rand());
      const bm = Float32Array.from({ length: out * rank }, () => 0.5 * rand());
      adapterTensors.push({ name: `base_model.model.${module}.lora_A.weight`, shape: [rank, inn], data: a });
      adapterTensors.push({ name: `base_model.model.${module}.lora_B.weight`, shape: [out, rank], data: bm });
      for (let o = 0; o < out; o++)
        for (let i = 0; i < inn; i++) {
          let ba = 0;
          for (let k = 0; k < rank; k++) ba += bm[o * rank + k]! * a[k * inn + i]!;
          t.data[o * inn + i] = t.data[o * inn + i]! + (alpha / rank) * ba;
        }
    }
    const adapter = writeAdapter(
      path.join(tmp.dir, 'lora'),
      { peft_type: 'LORA', r: rank, lora_alpha: alpha, target_modules: ['q_proj', 'v_proj'] },
      adapterTensors,
    );
    const mergedDir = path.join(tmp.dir, 'merged');
    writeTinyLlamaFolder(mergedDir); // config + tokenizer; weights replaced below
    writeModelSafetensors(mergedDir, merged);

    const gen = (dir: string, ...extra: string[]) =>
      runCliCaptured([
        '--json',
        'generate',
        '--backbone',
        dir,
        ...extra,
        '--prompt',
        'Once upon a time',
        '--max-tokens',
        '16',
      ]);
    const tokens = async (run: ReturnType<typeof gen>) =>
      (JSON.parse((await run).stdout) as { tokens: number[] }).tokens;
    const viaAdapter = await tokens(gen(baseDir, '--adapter', adapter));
    expect(viaAdapter).toEqual(await tokens(gen(mergedDir)));
    expect(viaAdapter).not.toEqual(await tokens(gen(baseDir)));

    // logits, not only greedy picks: adapter in the graph vs merged weights
    const ids = [[1, 403, 407, 261, 378, 11]];
    const logitsOf = async (b: ReturnType<typeof openBackbone>, adapter?: GraphAdapter) => {
      const runner = await BackboneRunner.create(b, { threads: 1, ...(adapter && { adapter }) });
      try {
        return (await runner.step({ ids, past: runner.emptyCache(1), logitPositions: [[0, 1, 2, 3, 4, 5]] })).logits;
      } finally {
        await runner.release();
      }
    };
    const loaded = loadPeftAdapter(adapter, base.config);
    const withLora = await logitsOf(base, loaded.graph);
    const mergedLogits = await logitsOf(openBackbone(mergedDir));
    const maxDiff = (a: Float32Array, b: Float32Array) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    expect(maxDiff(withLora, mergedLogits)).toBeLessThan(1e-4);
    // merged in the graph (W + s B A, folded by onnxruntime) gives the same logits
    expect(maxDiff(await logitsOf(base, loraGraphAdapter(loaded.lora!, true)), mergedLogits)).toBeLessThan(1e-4);
    expect(maxDiff(withLora, await logitsOf(base))).toBeGreaterThan(1e-2);

    const otherDir = path.join(tmp.dir, 'other');
    writeTinyLlamaFolder(otherDir, { config: { hiddenSize: 64, headDim: 16 } });
    expect(() => loadPeftAdapter(adapter, openBackbone(otherDir).config)).toThrow(
      expect.objectContaining({
        code: 'BACKBONE_MISMATCH',
        message: expect.stringMatching(/trained on another backbone/),
      }),
    );
  });
});
