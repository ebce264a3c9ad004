/** Full fine-tuning (the paper's upper baseline): every weight of the backbone trains. */
import { z } from 'zod';

export const FullConfigSchema = z.object({}).strict();
export type FullConfig = z.infer<typeof FullConfigSchema>;
