/** Full fine-tuning (the paper's upper baseline): every weight of the backbone trains. */
import { z } from 'zod';

export const FullConfigSchema = z
  .object({
    gradientCheckpointing: z
      .enum(['per-layer', 'off'])
      .default('per-layer')
      .describe(
        "per-layer: keep only each layer's input and recompute its forward during the backward pass " +
          '(about a model-size less peak memory, about a third more compute); off: one pass over the whole graph',
      ),
  })
  .strict();
export type FullConfig = z.infer<typeof FullConfigSchema>;
