/**
 * Full fine-tuning: every backbone tensor is a trainable graph input (the forward's weight source
 * returns the inputs instead of the frozen checkpoint), saved as a complete Hugging Face model
 * folder (config.json, model.safetensors, tokenizer files) under the run's `model/`.
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { cast } from '../../engine/index.js';
import { toHfConfigJson } from '../../backbone/hf/config.js';
import { expectedLlamaTensors } from '../../backbone/hf/llama-tensors.js';
import { writeSafetensorsFile } from '../../backbone/hf/safetensors-writer.js';
import { openBackbone } from '../../backbone/load.js';
import type { MethodContext, MethodInstance, TensorValues } from '../method.js';
import type { FullConfig } from './config.js';
import { layerwiseStep } from './layerwise-step.js';

export const FULL_MODEL_DIR = 'model';
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json'];

export function fullFineTuning(ctx: MethodContext, config: FullConfig): MethodInstance {
  const { backbone } = ctx;
  const shapes = expectedLlamaTensors(backbone.config);
  const layerwise = config.gradientCheckpointing === 'per-layer';
  const save = (dir: string, values: TensorValues) => {
    const out = path.join(dir, FULL_MODEL_DIR);
    mkdirSync(out, { recursive: true });
    const file = path.join(out, 'model.safetensors');
    writeSafetensorsFile(
      `${file}.tmp`,
      [...shapes].map(([name, shape]) => ({ name, shape: [...shape], data: values.get(name)! })),
      'F32',
    );
    renameSync(`${file}.tmp`, file);
    writeFileSync(
      path.join(out, 'config.json'),
      JSON.stringify({ ...toHfConfigJson(backbone.config), torch_dtype: 'float32' }, null, 2),
    );
    for (const f of TOKENIZER_FILES)
      if (existsSync(path.join(backbone.hfDir, f))) copyFileSync(path.join(backbone.hfDir, f), path.join(out, f));
  };
  return {
    method: 'full',
    settings: config,
    trainables: [...shapes].map(([name, shape]) => ({ name, shape, decay: shape.length === 2 })),
    defaultLr: 1e-4,
    layerwise,
    trainingStep: (step) => (layerwise ? layerwiseStep(step) : undefined),
    initialValues: () => new Map([...shapes.keys()].map((name) => [name, backbone.weights.readFloat32(name)])),
    wire: (_g, _base, inputs) => ({
      weights: (name) => {
        const t = inputs.trainables.get(name);
        if (!t) throw new Error(`full fine-tuning: no trainable ${name}`);
        return t;
      },
    }),
    // Mid-training evaluation: the current weights inline (saved runs open model/ as a backbone).
    adapter: (values) => ({
      type: 'FULL',
      graph: {
        weights: (g, _base, dtype) => (name) => {
          const w = g.constant(values.get(name)!, 'float32', [...shapes.get(name)!]);
          return dtype === 'float32' ? w : cast(w, dtype);
        },
      },
    }),
    save,
  };
}

/** The backbone a full fine-tuning run folder holds. */
export function openFullModel(runDir: string) {
  return openBackbone(path.join(runDir, FULL_MODEL_DIR));
}
