/**
 * Single-task prompt tuning (Lester et al. 2021, arXiv 2104.08691): L trainable virtual-token
 * embeddings before the input; the backbone stays frozen. Initialisation as PEFT's
 * PromptTuningInit: SAMPLE_VOCAB (rows of the embedding table at random token ids; our default,
 * as DESIGN.md §1 asks), TEXT (the embeddings of a text's tokens, repeated to fill L), RANDOM.
 */
import { z } from 'zod';

export const PROMPT_INITS = ['sample-vocab', 'text', 'random'] as const;
export type PromptInit = (typeof PROMPT_INITS)[number];

/** PEFT's prompt_tuning_init names. */
export const PEFT_PROMPT_INIT: Record<PromptInit, string> = {
  'sample-vocab': 'SAMPLE_VOCAB',
  text: 'TEXT',
  random: 'RANDOM',
};

export const PromptTuningConfigSchema = z
  .object({
    promptLength: z
      .number()
      .int()
      .positive()
      .max(1000)
      .default(100)
      .describe('virtual tokens L (the paper uses 100; fewer suit tiny backbones)'),
    init: z.enum(PROMPT_INITS).default('sample-vocab').describe('how the prompt starts: sample-vocab, text or random'),
    initText: z.string().min(1).optional().describe('the text whose token embeddings start the prompt (init text)'),
  })
  .strict()
  .refine((c) => c.init !== 'text' || c.initText !== undefined, {
    message: 'Prompt initialisation "text" needs an init text.',
    path: ['initText'],
  });

export type PromptTuningConfig = z.infer<typeof PromptTuningConfigSchema>;
