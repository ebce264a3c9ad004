/**
 * The training settings every method shares (the trainer's), as one schema with defaults and help
 * text: the CLI's flags, the IPC contract and the wizard's "advanced" section all read it.
 * Defaults follow common prompt-tuning and LoRA practice (Lester et al. 2021 train prompts with
 * large learning rates; LoRA and full fine-tuning with small ones: see each method's `defaultLr`).
 */
import { z } from 'zod';

export const SCHEDULES = ['linear', 'cosine', 'constant'] as const;

export const TrainConfigSchema = z
  .object({
    steps: z.number().int().positive().optional().describe('optimizer steps to run (default: from --epochs)'),
    epochs: z.number().positive().default(3).describe('passes over the training examples when --steps is not given'),
    lr: z.number().positive().optional().describe("peak learning rate (default: the method's own)"),
    batchSize: z.number().int().positive().default(8).describe('examples per forward pass'),
    gradAccumulation: z.number().int().positive().default(1).describe('forward passes summed into one optimizer step'),
    warmupSteps: z.number().int().nonnegative().optional().describe('linear warm-up steps (default: 6% of the steps)'),
    schedule: z.enum(SCHEDULES).default('linear').describe('learning-rate decay after warm-up'),
    weightDecay: z.number().nonnegative().default(0).describe('AdamW decoupled weight decay'),
    beta1: z.number().min(0).max(1).default(0.9).describe('AdamW first-moment decay'),
    beta2: z.number().min(0).max(1).default(0.999).describe('AdamW second-moment decay'),
    epsilon: z.number().positive().default(1e-8).describe('AdamW epsilon'),
    maxGradNorm: z.number().positive().default(1).describe('global gradient-norm clipping'),
    groupByLength: z
      .boolean()
      .default(false)
      .describe('batch examples of similar length together (less padding; avoid when answer length follows the label)'),
    taskSizeCap: z
      .number()
      .int()
      .positive()
      .default(3000)
      .describe('multi-task runs: a task draws steps in proportion to its size, counted up to this many examples'),
    maxLength: z
      .number()
      .int()
      .min(8)
      .default(256)
      .describe('tokens per example (prompt + answer); longer prompts are cut in the middle'),
    seed: z.number().int().nonnegative().default(42).describe('seed for initialisation, data order and dropout'),
    evalEvery: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe('evaluate on the dev split every N steps (0: only at the end)'),
    patience: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe('stop after N evaluations without improvement (0: never)'),
    checkpointEvery: z.number().int().positive().default(50).describe('write a resumable checkpoint every N steps'),
    threads: z.number().int().positive().optional().describe('CPU threads (default: onnxruntime chooses)'),
  })
  .strict();

export type TrainConfig = z.infer<typeof TrainConfigSchema>;
