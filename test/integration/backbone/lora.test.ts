/**
 * LoRA at inference: adapters on q_proj and v_proj (PEFT's default targets) built into the graph
 * must give the same logits as a checkpoint whose weights were merged, W' = W + (alpha/r) B A.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { LoraWeights } from '../../../src-main/backbone/generate/inference-graph.js';
import { BackboneRunner } from '../../../src-main/backbone/generate/runner.js';
import { writeModelSafetensors } from '../../../src-main/backbone/hf/safetensors-writer.js';
import { openBackbone } from '../../../src-main/backbone/load.js';
import { makeTempDir } from '../../support/temp.js';
import { seededRandom, writeTinyLlamaFolder } from '../../unit/backbone/tiny-llama.js';

describe('LoRA applied at inference', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeAll(() => (tmp = makeTempDir()));
  afterAll(() => tmp.cleanup());

  it('matches the merged checkpoint', async () => {
    const baseDir = path.join(tmp.dir, 'base');
    const mergedDir = path.join(tmp.dir, 'merged');
    writeTinyLlamaFolder(baseDir);
    const base = openBackbone(baseDir);
    const rank = 4;
    const alpha = 8;
    const rand = seededRandom(11);
    const lora = new Map<string, LoraWeights>();
    const merged = [...base.tensors.keys()].map((name) => ({
      name,
      shape: base.tensors.get(name)!.shape,
      data: base.weights.readFloat32(name),
    }));
    for (const target of ['model.layers.0.self_attn.q_proj', 'model.layers.1.self_attn.v_proj']) {
      const t = merged.find((m) => m.name === `${target}.weight`)!;
      const [out, inn] = t.shape as [number, number];
      const a = Float32Array.from({ length: rank * inn }, () => 0.3 * rand());
      const b = Float32Array.from({ length: out * rank }, () => 0.3 * rand());
      lora.set(target, { a, b, rank, scaling: alpha / rank });
      for (let o = 0; o < out; o++)
        for (let i = 0; i < inn; i++) {
          let ba = 0;
          for (let k = 0; k < rank; k++) ba += b[o * rank + k]! * a[k * inn + i]!;
          t.data[o * inn + i] = t.data[o * inn + i]! + (alpha / rank) * ba;
        }
    }
    mkdirSync(mergedDir);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json'])
      copyFileSync(path.join(baseDir, f), path.join(mergedDir, f));
    writeModelSafetensors(mergedDir, merged);

    const ids = [[1, 403, 407, 261, 378, 11]];
    const positions = [[0, 1, 2, 3, 4, 5]];
    const logitsOf = async (runner: BackboneRunner) => {
      try {
        return (await runner.step({ ids, past: runner.emptyCache(1), logitPositions: positions })).logits;
      } finally {
        await runner.release();
      }
    };
    const withLora = await logitsOf(await BackboneRunner.create(base, { lora, threads: 1 }));
    const mergedLogits = await logitsOf(await BackboneRunner.create(openBackbone(mergedDir), { threads: 1 }));
    const plain = await logitsOf(await BackboneRunner.create(base, { threads: 1 }));
    let diff = 0;
    let changed = 0;
    for (let i = 0; i < withLora.length; i++) {
      diff = Math.max(diff, Math.abs(withLora[i]! - mergedLogits[i]!));
      changed = Math.max(changed, Math.abs(withLora[i]! - plain[i]!));
    }
    expect(diff).toBeLessThan(1e-4);
    expect(changed).toBeGreaterThan(1e-2); // the adapter really changes the model
  });
});
