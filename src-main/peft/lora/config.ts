/**
 * LoRA's settings, as PEFT's LoraConfig names them (tuners/lora/config.py): rank r, lora_alpha,
 * lora_dropout, target_modules (LLaMA default q_proj and v_proj, DESIGN.md §1), use_rslora.
 */
import { z } from 'zod';

/** The LLaMA family's linear layers, by the module names PEFT's target_modules match. */
export const LINEAR_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

export const LoraConfigSchema = z
  .object({
    rank: z.number().int().positive().max(1024).default(8).describe('LoRA rank r'),
    alpha: z.number().positive().default(16).describe('LoRA alpha: the update is scaled by alpha / r'),
    dropout: z.number().min(0).max(0.9).default(0).describe('dropout on the LoRA input during training'),
    targetModules: z
      .array(z.enum(LINEAR_MODULES))
      .min(1)
      .default(['q_proj', 'v_proj'])
      .describe(`linear layers to adapt: any of ${LINEAR_MODULES.join(', ')}`),
    rslora: z.boolean().default(false).describe('rank-stabilised scaling alpha / sqrt(r)'),
  })
  .strict();

export type LoraConfig = z.infer<typeof LoraConfigSchema>;
