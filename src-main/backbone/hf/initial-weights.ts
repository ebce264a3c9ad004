/**
 * A freshly initialised LLaMA-architecture model, the starting point of pretraining: the
 * initialisation transformers' LlamaPreTrainedModel uses (normal, std 0.02; norms at 1), with
 * GPT-2's 1/sqrt(2 * layers) scaling of the projections that write into the residual stream
 * (o_proj, down_proj), which keeps deep stacks stable from step one. Seeded: the same config and
 * seed give identical tensors.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { seededRandom } from '../../common/random.js';
import type { LlamaConfig } from './config.js';
import { toHfConfigJson } from './config.js';
import { expectedLlamaTensors } from './llama-tensors.js';
import { writeModelSafetensors } from './safetensors-writer.js';

const INIT_STD = 0.02;

/** Standard normal draws from a seeded uniform source (Box-Muller). */
function normalSource(seed: number): () => number {
  const uniform = seededRandom(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = 1 - uniform(); // (0, 1]: log stays finite
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

export function initialLlamaWeights(config: LlamaConfig, seed: number): Map<string, Float32Array> {
  const normal = normalSource(seed);
  const residualStd = INIT_STD / Math.sqrt(2 * config.numLayers);
  const out = new Map<string, Float32Array>();
  for (const [name, shape] of expectedLlamaTensors(config)) {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.endsWith('norm.weight')) values.fill(1);
    else if (name.endsWith('.bias')) values.fill(0);
    else {
      const std = /\.(o_proj|down_proj)\.weight$/.test(name) ? residualStd : INIT_STD;
      for (let i = 0; i < values.length; i++) values[i] = normal() * std;
    }
    out.set(name, values);
  }
  return out;
}

/** Writes config.json and model.safetensors (float32) of a freshly initialised model into `dir`. */
export function writeInitialModel(dir: string, config: LlamaConfig, seed: number): void {
  mkdirSync(dir, { recursive: true });
  const shapes = expectedLlamaTensors(config);
  writeModelSafetensors(
    dir,
    [...initialLlamaWeights(config, seed)].map(([name, data]) => ({ name, shape: [...shapes.get(name)!], data })),
  );
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(toHfConfigJson(config), null, 2));
}
