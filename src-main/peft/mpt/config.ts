/**
 * Multitask prompt tuning (Wang et al. 2023, arXiv 2303.02861; DESIGN.md §1), as two methods:
 * - `mpt-distill` (stage 2): one shared meta-prompt P* (L x d) and per source task rank-r factors
 *   u_k (L x r), v_k (r x d), task prompt P_k = P* o (u_k v_k^T), trained over all source tasks with
 *   CE + lambda * (T^2 KL(teacher || student) + w * MSE of the last hidden states), each task's teacher
 *   (a prompt-tuning run, stage 1) running forward-only with its own prompt;
 * - `mpt` (stage 3): adapts P* and one task's u, v to a new target task.
 * The original lambda and T are not published: both are settings (defaults 1, 1), as is w
 * (`hiddenWeight`, default 1: the paper's plain sum).
 */
import { z } from 'zod';

export const MptDistillConfigSchema = z
  .object({
    teachers: z
      .array(z.string().min(1))
      .min(1)
      .describe('prompt-tuning run folders, one per source task, in the order of the source datasets'),
    rank: z.number().int().positive().max(64).default(1).describe('rank r of each task update u_k v_k^T'),
    lambda: z.number().nonnegative().default(1).describe('weight of the distillation terms (KL + hidden MSE)'),
    // npm run bench:distill-weights (bench/results/distill-weights-*.md): on stories260K the MSE
    // term is what costs target accuracy at lambda 1; KL alone does not.
    hiddenWeight: z
      .number()
      .nonnegative()
      .default(1)
      .describe("weight of the hidden-state MSE inside the distillation terms (1: the paper's sum; 0: KL only)"),
    temperature: z.number().positive().default(1).describe('softmax temperature T of the KL term'),
  })
  .strict();
export type MptDistillConfig = z.infer<typeof MptDistillConfigSchema>;

/**
 * How stage 3 starts u and v: PEFT's AVERAGE_SOURCE_TASKS (the mean of the u_k and the mean of
 * the v_k, separately) or `fit`, the best rank-r approximation of the mean task update
 * mean_k(u_k v_k^T), which the averaged factors only approximate. `fit` is the default because
 * of a one-off measurement made when it became so (commit 268d81e, 2026-11-27), in the setting of
 * test/integration/peft/mpt.test.ts (stories260K, three source tasks, an unseen target at k = 2
 * per label, 3 draws, 10 steps): the target's gold answers scored -22.5 nats with `fit`, -26.8
 * with `average` and -27.9 for prompt tuning from scratch. No test repeats the fit-vs-average
 * scores: mpt.test.ts checks that adapting with the default beats prompt tuning from scratch, and
 * that `fit` approximates the mean update at least as closely as `average`. On the embedded
 * backbone with its shipped meta-prompt the two starts are indistinguishable (`npm run
 * bench:mpt-init`, bench/results/mpt-init-2026-11-28.md: `fit` scored the gold answers higher on
 * 8 of 18 paired draws over three targets at k = 1 and 5), so the default stays.
 */
export const MPT_INITS = ['average', 'fit'] as const;
export const MPT_TRAINED = ['uv', 'uv-shared'] as const;

export const MptAdaptConfigSchema = z
  .object({
    meta: z
      .string()
      .min(1)
      .optional()
      .describe(
        'the distilled meta-prompt: an mpt-distill run folder (default: the one shipped with the embedded backbone)',
      ),
    init: z
      .enum(MPT_INITS)
      .default('fit')
      .describe('how u and v start: fit (best rank-r fit of the mean source update) or average'),
    trained: z
      .enum(MPT_TRAINED)
      .default('uv-shared')
      .describe('what trains: uv (the task factors only) or uv-shared (also the meta-prompt P*)'),
  })
  .strict();
export type MptAdaptConfig = z.infer<typeof MptAdaptConfigSchema>;
