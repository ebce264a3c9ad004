/**
 * Soft prompts in PEFT's tensor layouts (huggingface/peft: tuners/prompt_tuning,
 * tuners/multitask_prompt_tuning/model.py):
 * - a soft prompt P (L x d, `prompt_embeddings`) is prepended before the token embeddings;
 * - an MPT task prompt is the shared prompt P* times a rank-r task update:
 *   P^_k = P* o (u_k v_k^T) with u_k (L x r) = `prefix_task_cols`, v_k (r x d) = `prefix_task_rows`
 *   (DESIGN.md §1, stage 2; PEFT computes torch.matmul(task_cols, task_rows) then multiplies).
 */
import { UserError } from '../common/errors.js';
import type { SoftPrompt } from '../backbone/generate/runner.js';

export function softPrompt(embeddings: Float32Array, hiddenSize: number): SoftPrompt {
  if (embeddings.length === 0 || embeddings.length % hiddenSize !== 0)
    throw new UserError(
      'BACKBONE_MISMATCH',
      `The prompt has ${embeddings.length} values, not a whole number of ${hiddenSize}-wide virtual tokens: it was trained on another backbone.`,
    );
  return { length: embeddings.length / hiddenSize, embeddings };
}

/** P^_k = P* o (u_k v_k^T): shared (L, d), u (L, r), v (r, d). */
export function mptTaskPrompt(
  shared: Float32Array,
  u: Float32Array,
  v: Float32Array,
  rank: number,
  hiddenSize: number,
): SoftPrompt {
  const L = shared.length / hiddenSize;
  if (u.length !== L * rank || v.length !== rank * hiddenSize)
    throw new UserError(
      'BACKBONE_MISMATCH',
      `The task vectors (u: ${u.length}, v: ${v.length} values) do not fit a ${L} x ${hiddenSize} shared prompt at rank ${rank}.`,
    );
  const out = new Float32Array(shared.length);
  for (let l = 0; l < L; l++)
    for (let j = 0; j < hiddenSize; j++) {
      let uv = 0;
      for (let k = 0; k < rank; k++) uv += u[l * rank + k]! * v[k * hiddenSize + j]!;
      out[l * hiddenSize + j] = shared[l * hiddenSize + j]! * uv;
    }
  return softPrompt(out, hiddenSize);
}
