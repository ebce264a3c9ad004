/**
 * LoRA as a training method: trainable A (r, in) and B (out, r) per adapted linear layer, named
 * as PEFT saves them, entering the forward through its linear hook (lora/layer.ts), with optional
 * dropout on the layer input (masks fed each step, seeded, so a resumed run draws the same ones).
 */
import { add, cast, mul } from '../../engine/index.js';
import type { LlamaConfig } from '../../backbone/hf/config.js';
import { expectedLlamaTensors } from '../../backbone/hf/llama-tensors.js';
import type { Random } from '../../common/random.js';
import { loraAName, loraBName, writePeftAdapter } from '../adapter-folder.js';
import type { MethodContext, MethodInstance, TensorValues } from '../method.js';
import type { LoraConfig } from './config.js';
import { loraDelta, loraGraphAdapter, loraScaling, type LoraSet } from './layer.js';

const dropoutInput = (module: string): string => `lora_dropout.${module}`;

/** The adapted modules of a backbone, e.g. model.layers.3.self_attn.q_proj, with (out, in). */
export function loraModules(c: LlamaConfig, targets: readonly string[]): { module: string; out: number; in: number }[] {
  const modules: { module: string; out: number; in: number }[] = [];
  for (const [name, shape] of expectedLlamaTensors(c)) {
    const m = /^(model\.layers\.\d+\.(?:self_attn|mlp)\.(\w+))\.weight$/.exec(name);
    if (m && targets.includes(m[2]!)) modules.push({ module: m[1]!, out: shape[0]!, in: shape[1]! });
  }
  return modules;
}

export function lora(ctx: MethodContext, config: LoraConfig): MethodInstance {
  const c = ctx.backbone.config;
  const modules = loraModules(c, config.targetModules);
  const scaling = loraScaling(config.alpha, config.rank, config.rslora);
  const r = config.rank;
  const keep = 1 - config.dropout;
  const set = (values: TensorValues): LoraSet =>
    new Map(
      modules.map(({ module }) => [
        module,
        { a: values.get(loraAName(module))!, b: values.get(loraBName(module))!, rank: r, scaling },
      ]),
    );
  return {
    method: 'lora',
    settings: config,
    trainables: modules.flatMap(({ module, out, in: inn }) => [
      { name: loraAName(module), shape: [r, inn], decay: true },
      { name: loraBName(module), shape: [out, r], decay: true },
    ]),
    defaultLr: 1e-3,
    ...(config.dropout > 0 && {
      stepInputs: modules.map(({ module, in: inn }) => ({
        name: dropoutInput(module),
        shape: ['batch', 'tokens', inn] as const,
        fill: (values: Float32Array | BigInt64Array, random: Random) => {
          for (let i = 0; i < values.length; i++) (values as Float32Array)[i] = random() < keep ? 1 / keep : 0;
        },
      })),
    }),
    // PEFT's init: A ~ kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), B = 0, so training starts at W.
    initialValues: (random) =>
      new Map(
        modules.flatMap(({ module, out, in: inn }) => {
          const bound = 1 / Math.sqrt(inn);
          const a = Float32Array.from({ length: r * inn }, () => (2 * random() - 1) * bound);
          return [
            [loraAName(module), a],
            [loraBName(module), new Float32Array(out * r)],
          ];
        }),
      ),
    wire: (_g, _base, inputs) => ({
      hook: (module, x, y) => {
        const a = inputs.trainables.get(loraAName(module));
        if (!a) return y;
        const mask = inputs.extra.get(dropoutInput(module));
        const xd = mask ? mul(x, cast(mask, x.dtype)) : x;
        return add(
          y,
          loraDelta(xd, cast(a, x.dtype), cast(inputs.trainables.get(loraBName(module))!, x.dtype), scaling),
        );
      },
    }),
    adapter: (values) => {
      const weights = set(values);
      return { type: 'LORA', graph: loraGraphAdapter(weights), lora: weights };
    },
    save: (dir, values) =>
      writePeftAdapter(
        dir,
        {
          base_model_name_or_path: ctx.backboneName,
          bias: 'none',
          fan_in_fan_out: false,
          lora_alpha: config.alpha,
          lora_dropout: config.dropout,
          peft_type: 'LORA',
          r,
          target_modules: [...config.targetModules],
          task_type: 'CAUSAL_LM',
          use_dora: false,
          use_rslora: config.rslora,
        },
        modules.flatMap(({ module, out, in: inn }) => [
          { name: loraAName(module), shape: [r, inn], data: values.get(loraAName(module))! },
          { name: loraBName(module), shape: [out, r], data: values.get(loraBName(module))! },
        ]),
      ),
  };
}
