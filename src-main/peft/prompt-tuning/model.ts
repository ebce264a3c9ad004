/**
 * Prompt tuning's trainable state: one tensor `prompt_embeddings` (L, d), prepended to the token
 * embeddings, saved as PEFT's PROMPT_TUNING adapter (tuners/prompt_tuning/config.py keys).
 */
import { EMBED_TOKENS } from '../../backbone/hf/llama-tensors.js';
import type { SafetensorsWeights } from '../../backbone/hf/safetensors.js';
import { randomInt, type Random } from '../../common/random.js';
import { PROMPT_EMBEDDINGS, writePeftAdapter } from '../adapter-folder.js';
import type { MethodContext, MethodInstance } from '../method.js';
import { softPrompt } from '../prompts.js';
import { PEFT_PROMPT_INIT, type PromptTuningConfig } from './config.js';

/** A standard normal draw (Box-Muller). */
export function normal(random: Random): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** L rows of the embedding table: at the given token ids, cycled to fill L (only those rows are read). */
export function embeddingRows(weights: SafetensorsWeights, d: number, ids: readonly number[], L: number): Float32Array {
  const out = new Float32Array(L * d);
  for (let l = 0; l < L; l++) out.set(weights.readRowsFloat32(EMBED_TOKENS, ids[l % ids.length]!, 1), l * d);
  return out;
}

/** The embedding table's root mean square, read a block of rows at a time (never the whole table). */
function embeddingScale(weights: SafetensorsWeights, vocab: number): number {
  const block = 4096;
  let sq = 0;
  let n = 0;
  for (let start = 0; start < vocab; start += block) {
    const rows = weights.readRowsFloat32(EMBED_TOKENS, start, Math.min(block, vocab - start));
    for (const v of rows) sq += v * v;
    n += rows.length;
  }
  return Math.sqrt(sq / n);
}

/** The initial prompt (L, d) as the config says. */
export function initialPrompt(ctx: MethodContext, config: PromptTuningConfig, random: Random): Float32Array {
  const { backbone } = ctx;
  const { hiddenSize: d, vocabSize } = backbone.config;
  const L = config.promptLength;
  if (config.init === 'text') {
    const ids = backbone.tokenizer.encode(config.initText!, { addSpecialTokens: false });
    return embeddingRows(backbone.weights, d, ids.length > 0 ? ids : [0], L);
  }
  if (config.init === 'sample-vocab') {
    const ids = Array.from({ length: L }, () => randomInt(random, vocabSize));
    return embeddingRows(backbone.weights, d, ids, L);
  }
  // random: normal with the embedding table's own scale (a unit normal would dwarf real tokens)
  const std = embeddingScale(backbone.weights, vocabSize);
  return Float32Array.from({ length: L * d }, () => std * normal(random));
}

export function promptTuning(ctx: MethodContext, config: PromptTuningConfig): MethodInstance {
  const c = ctx.backbone.config;
  const shape = [config.promptLength, c.hiddenSize];
  return {
    method: 'pt',
    settings: config,
    trainables: [{ name: PROMPT_EMBEDDINGS, shape, decay: false }],
    defaultLr: 3e-2,
    initialValues: (random) => new Map([[PROMPT_EMBEDDINGS, initialPrompt(ctx, config, random)]]),
    wire: (_g, _base, inputs) => ({ prompt: inputs.trainables.get(PROMPT_EMBEDDINGS)! }),
    adapter: (values) => ({
      type: 'PROMPT_TUNING',
      prompt: softPrompt(values.get(PROMPT_EMBEDDINGS)!, c.hiddenSize),
    }),
    save: (dir, values) =>
      writePeftAdapter(
        dir,
        {
          base_model_name_or_path: ctx.backboneName,
          num_attention_heads: c.numHeads,
          num_layers: c.numLayers,
          num_transformer_submodules: 1,
          num_virtual_tokens: config.promptLength,
          peft_type: 'PROMPT_TUNING',
          prompt_tuning_init: PEFT_PROMPT_INIT[config.init],
          prompt_tuning_init_text: config.initText ?? null,
          task_type: 'CAUSAL_LM',
          token_dim: c.hiddenSize,
          tokenizer_name_or_path: config.init === 'text' ? ctx.backboneName : null,
        },
        [{ name: PROMPT_EMBEDDINGS, shape, data: values.get(PROMPT_EMBEDDINGS)! }],
      ),
  };
}
