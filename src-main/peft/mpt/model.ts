/**
 * Multitask prompt tuning's trainable state in PEFT's names (tuners/multitask_prompt_tuning):
 * `prompt_embeddings` P* (L, d), `prefix_task_cols` u (tasks, L, r), `prefix_task_rows`
 * v (tasks, r, d); task prompt P_k = P* o (u_k v_k). Saved as a MULTITASK_PROMPT_TUNING adapter.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { UserError } from '../../common/errors.js';
import type { Random } from '../../common/random.js';
import type { Graph, Tensor } from '../../engine/index.js';
import {
  distillationKl,
  gather,
  hiddenMse,
  matmul,
  mul,
  reshape,
  softmax,
  tokenCrossEntropy,
  cast,
  add,
  div,
} from '../../engine/index.js';
import { shippedMetaPromptDir } from '../../backbone/embedded.js';
import { SafetensorsWeights } from '../../backbone/hf/safetensors.js';
import { readRunRecord } from '../run-folder.js';
import type { Backbone } from '../../backbone/load.js';
import {
  ADAPTER_WEIGHTS,
  loadPeftAdapter,
  type PeftAdapter,
  PREFIX_TASK_COLS,
  PREFIX_TASK_ROWS,
  PROMPT_EMBEDDINGS,
  writePeftAdapter,
} from '../adapter-folder.js';
import { tensorsDigest, type MethodContext, type MethodInstance, type TensorValues } from '../method.js';
import { mptTaskPrompt } from '../prompts.js';
import { normal } from '../prompt-tuning/model.js';
import { lossTargets, methodForward } from '../training-graph.js';
import type { MptAdaptConfig, MptDistillConfig } from './config.js';

const TASK_ID = 'task_id';
const TEACHER_PROMPT = 'teacher_prompt';

/** P o (u v): shared (L, d), u (L, r), v (r, d). */
function taskPrompt(shared: Tensor, u: Tensor, v: Tensor): Tensor {
  return mul(shared, matmul(u, v));
}

/** Task k's factor from a (tasks, a, b) tensor: (a, b). */
function taskSlice(all: Tensor, taskId: Tensor): Tensor {
  return reshape(gather(all, taskId, 0), [all.shape[1]!, all.shape[2]!]);
}

function mptAdapterConfig(ctx: MethodContext, L: number, tasks: number, rank: number) {
  const c = ctx.backbone.config;
  return {
    base_model_name_or_path: ctx.backboneName,
    num_attention_heads: c.numHeads,
    num_layers: c.numLayers,
    num_ranks: rank,
    num_tasks: tasks,
    num_transformer_submodules: 1,
    num_virtual_tokens: L,
    peft_type: 'MULTITASK_PROMPT_TUNING',
    prompt_tuning_init: 'RANDOM',
    task_type: 'CAUSAL_LM',
    token_dim: c.hiddenSize,
  };
}

// ---------------------------------------------------------------------------------------------
// stage 2: distillation and decomposition
// ---------------------------------------------------------------------------------------------

export function mptDistill(ctx: MethodContext, config: MptDistillConfig): MethodInstance {
  const c = ctx.backbone.config;
  const d = c.hiddenSize;
  const r = config.rank;
  const teachers = config.teachers.map((dir) => {
    const prompt = loadPeftAdapter(dir, c).prompt;
    if (!prompt)
      throw new UserError('BAD_FILE', `Teacher ${dir} is not a prompt-tuning run (stage 1 trains --method pt).`);
    return prompt;
  });
  const L = teachers[0]!.length;
  const other = config.teachers.find((_, k) => teachers[k]!.length !== L);
  if (other)
    throw new UserError(
      'INVALID_ARGUMENT',
      `Teacher ${other} has another prompt length than ${config.teachers[0]} (${L}).`,
    );
  const K = teachers.length;
  return {
    method: 'mpt-distill',
    settings: config,
    inputsDigest: tensorsDigest(teachers.map((t) => t.embeddings)),
    trainables: [
      { name: PROMPT_EMBEDDINGS, shape: [L, d], decay: false },
      { name: PREFIX_TASK_COLS, shape: [K, L, r], decay: false },
      { name: PREFIX_TASK_ROWS, shape: [K, r, d], decay: false },
    ],
    countFormula: `L*d + K*(L*r + r*d) = ${L}*${d} + ${K}*(${L}*${r} + ${r}*${d})`,
    defaultLr: 1e-2,
    stepInputs: [
      {
        name: TASK_ID,
        dtype: 'int64',
        shape: [1],
        fill: (values, _random, task) => ((values as BigInt64Array)[0] = BigInt(task)),
      },
      {
        name: TEACHER_PROMPT,
        shape: [L, d],
        fill: (values, _random, task) => (values as Float32Array).set(teachers[task]!.embeddings),
      },
    ],
    // P* starts at the teachers' mean; u_k v_k^T near all-ones (1/sqrt(r) each, plus a little
    // noise to tell the ranks apart), so every P_k starts at P* and distillation moves it.
    initialValues: (random: Random) => {
      const shared = new Float32Array(L * d);
      for (const t of teachers) for (let i = 0; i < shared.length; i++) shared[i]! += t.embeddings[i]! / K;
      const factor = (n: number) => Float32Array.from({ length: n }, () => 1 / Math.sqrt(r) + 0.01 * normal(random));
      return new Map([
        [PROMPT_EMBEDDINGS, shared],
        [PREFIX_TASK_COLS, factor(K * L * r)],
        [PREFIX_TASK_ROWS, factor(K * r * d)],
      ]);
    },
    wire: (_g, _base, inputs) => {
      const taskId = inputs.extra.get(TASK_ID)!;
      const t = inputs.trainables;
      return {
        prompt: taskPrompt(
          t.get(PROMPT_EMBEDDINGS)!,
          taskSlice(t.get(PREFIX_TASK_COLS)!, taskId),
          taskSlice(t.get(PREFIX_TASK_ROWS)!, taskId),
        ),
      };
    },
    loss: ({ config: lc, weights, batch, inputs, wiring, dtype }) => {
      const compute = dtype === 'float16' ? 'float16' : 'float32';
      const student = methodForward(lc, weights, batch, wiring, compute);
      const teacher = methodForward(lc, weights, batch, { prompt: inputs.extra.get(TEACHER_PROMPT)! }, compute);
      const T = config.temperature;
      const teacherLogits = cast(teacher.logits, 'float32');
      const teacherProbs = softmax(T === 1 ? teacherLogits : div(teacherLogits, T), -1);
      const { targets, mask } = lossTargets(batch);
      const ce = tokenCrossEntropy(student.logits, targets, mask);
      const kl = distillationKl(student.logits, teacherProbs, mask, T);
      const mse = hiddenMse(student.hidden, teacher.hidden, cast(batch.attentionMask, 'float32'));
      const w = config.hiddenWeight;
      const distill = w === 0 ? kl : add(kl, w === 1 ? mse : mul(mse, w));
      const loss = config.lambda === 0 ? ce : add(ce, mul(distill, config.lambda));
      return { loss, parts: { ce, kl, mse } };
    },
    adapter: (values) => ({
      type: 'MULTITASK_PROMPT_TUNING',
      prompt: mptTaskPrompt(
        values.get(PROMPT_EMBEDDINGS)!,
        values.get(PREFIX_TASK_COLS)!.subarray(0, L * r),
        values.get(PREFIX_TASK_ROWS)!.subarray(0, r * d),
        r,
        d,
      ),
    }),
    save: (dir, values) =>
      writePeftAdapter(dir, mptAdapterConfig(ctx, L, K, r), [
        { name: PROMPT_EMBEDDINGS, shape: [L, d], data: values.get(PROMPT_EMBEDDINGS)! },
        { name: PREFIX_TASK_COLS, shape: [K, L, r], data: values.get(PREFIX_TASK_COLS)! },
        { name: PREFIX_TASK_ROWS, shape: [K, r, d], data: values.get(PREFIX_TASK_ROWS)! },
      ]),
  };
}

// ---------------------------------------------------------------------------------------------
// stage 3: target adaptation
// ---------------------------------------------------------------------------------------------

export interface MetaPrompt {
  readonly shared: Float32Array; // (L, d)
  readonly cols: Float32Array; // (K, L, r)
  readonly rows: Float32Array; // (K, r, d)
  readonly tasks: number;
  readonly length: number;
  readonly rank: number;
}

export function readMetaPrompt(dir: string, hiddenSize: number): MetaPrompt {
  const file = path.join(dir, ADAPTER_WEIGHTS);
  if (!existsSync(file))
    throw new UserError('NOT_FOUND', `${dir} holds no distilled meta-prompt (distil one first).`, { field: 'meta' });
  const w = new SafetensorsWeights([file]);
  if (!w.tensors.has(PREFIX_TASK_COLS))
    throw new UserError('BAD_FILE', `${dir} is not a multitask prompt (no ${PREFIX_TASK_COLS}).`, { field: 'meta' });
  const [tasks, length, rank] = w.get(PREFIX_TASK_COLS).shape as [number, number, number];
  if (w.get(PROMPT_EMBEDDINGS).shape[1] !== hiddenSize)
    throw new UserError(
      'BACKBONE_MISMATCH',
      `${dir} was distilled on a backbone of width ${w.get(PROMPT_EMBEDDINGS).shape[1]}, not ${hiddenSize}.`,
      { field: 'meta' },
    );
  return {
    shared: w.readFloat32(PROMPT_EMBEDDINGS),
    cols: w.readFloat32(PREFIX_TASK_COLS),
    rows: w.readFloat32(PREFIX_TASK_ROWS),
    tasks,
    length,
    rank,
  };
}

/** PEFT's AVERAGE_SOURCE_TASKS: mean of the u_k and mean of the v_k, separately. */
export function averageFactors(m: MetaPrompt, d: number): { u: Float32Array; v: Float32Array } {
  const { tasks: K, length: L, rank: r } = m;
  const u = new Float32Array(L * r);
  const v = new Float32Array(r * d);
  for (let k = 0; k < K; k++) {
    for (let i = 0; i < L * r; i++) u[i]! += m.cols[k * L * r + i]! / K;
    for (let i = 0; i < r * d; i++) v[i]! += m.rows[k * r * d + i]! / K;
  }
  return { u, v };
}

/**
 * The best rank-r approximation u v of the mean task update M = mean_k(u_k v_k) (L, d), by
 * power iteration with deflation: M's top r singular triples, split as u = U sqrt(S), v = sqrt(S) V^T.
 */
export function fitFactors(m: MetaPrompt, d: number): { u: Float32Array; v: Float32Array } {
  const { tasks: K, length: L, rank: r } = m;
  const M = new Float64Array(L * d);
  for (let k = 0; k < K; k++)
    for (let l = 0; l < L; l++)
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let q = 0; q < r; q++) s += m.cols[(k * L + l) * r + q]! * m.rows[(k * r + q) * d + j]!;
        M[l * d + j]! += s / K;
      }
  const u = new Float32Array(L * r);
  const v = new Float32Array(r * d);
  for (let q = 0; q < r; q++) {
    let y = new Float64Array(d).fill(1 / Math.sqrt(d));
    let x = new Float64Array(L);
    let sigma = 0;
    for (let it = 0; it < 200; it++) {
      x = new Float64Array(L);
      for (let l = 0; l < L; l++) for (let j = 0; j < d; j++) x[l]! += M[l * d + j]! * y[j]!;
      const nx = Math.hypot(...x) || 1;
      for (let l = 0; l < L; l++) x[l]! /= nx;
      const next = new Float64Array(d);
      for (let l = 0; l < L; l++) for (let j = 0; j < d; j++) next[j]! += M[l * d + j]! * x[l]!;
      sigma = Math.hypot(...next);
      for (let j = 0; j < d; j++) next[j]! /= sigma || 1;
      y = next;
    }
    const root = Math.sqrt(sigma);
    for (let l = 0; l < L; l++) u[l * r + q] = x[l]! * root;
    for (let j = 0; j < d; j++) v[q * d + j] = y[j]! * root;
    for (let l = 0; l < L; l++) for (let j = 0; j < d; j++) M[l * d + j]! -= sigma * x[l]! * y[j]!;
  }
  return { u, v };
}

/** A meta-prompt for stage 3 on this backbone; one distilled on another backbone is refused. */
function metaPromptFor(dir: string, backbone: Backbone): MetaPrompt {
  const distilled = readRunRecord(dir);
  if (distilled && distilled.backbone.fingerprint !== backbone.fingerprint())
    throw new UserError(
      'BACKBONE_MISMATCH',
      `The meta-prompt ${dir} was distilled on ${distilled.backbone.name}, not on ${backbone.sourceDir}. Distil one on this backbone or name it.`,
      { field: 'meta' },
    );
  return readMetaPrompt(dir, backbone.config.hiddenSize);
}

const startFactors = (meta: MetaPrompt, d: number, init: MptAdaptConfig['init']) =>
  init === 'fit' ? fitFactors(meta, d) : averageFactors(meta, d);

/**
 * The target prompt stage 3 starts from, P* o (u v) with u, v as `init` starts them, as an
 * adapter: what an unseen task gets from the meta-prompt before any adaptation (the Label step's
 * suggestions before a run exists).
 */
export function mptStartAdapter(dir: string, backbone: Backbone, init: MptAdaptConfig['init'] = 'fit'): PeftAdapter {
  const d = backbone.config.hiddenSize;
  const meta = metaPromptFor(dir, backbone);
  const { u, v } = startFactors(meta, d, init);
  return { type: 'MULTITASK_PROMPT_TUNING', prompt: mptTaskPrompt(meta.shared, u, v, meta.rank, d) };
}

export function mptAdapt(ctx: MethodContext, requested: MptAdaptConfig): MethodInstance {
  const d = ctx.backbone.config.hiddenSize;
  const config = { ...requested, meta: requested.meta ?? shippedMetaPromptDir() };
  const meta = metaPromptFor(config.meta, ctx.backbone);
  const { length: L, rank: r } = meta;
  const trainsShared = config.trained === 'uv-shared';
  const start = startFactors(meta, d, config.init);
  const prompt = (values: TensorValues) =>
    mptTaskPrompt(
      values.get(PROMPT_EMBEDDINGS) ?? meta.shared,
      values.get(PREFIX_TASK_COLS)!,
      values.get(PREFIX_TASK_ROWS)!,
      r,
      d,
    );
  return {
    method: 'mpt',
    settings: config,
    inputsDigest: tensorsDigest([meta.shared, meta.cols, meta.rows]),
    trainables: [
      ...(trainsShared ? [{ name: PROMPT_EMBEDDINGS, shape: [L, d], decay: false }] : []),
      { name: PREFIX_TASK_COLS, shape: [1, L, r], decay: false },
      { name: PREFIX_TASK_ROWS, shape: [1, r, d], decay: false },
    ],
    countFormula: trainsShared
      ? `L*d + L*r + r*d = ${L}*${d} + ${L}*${r} + ${r}*${d}`
      : `L*r + r*d = ${L}*${r} + ${r}*${d}`,
    defaultLr: 3e-2,
    initialValues: () =>
      new Map([
        ...(trainsShared ? [[PROMPT_EMBEDDINGS, Float32Array.from(meta.shared)] as const] : []),
        [PREFIX_TASK_COLS, Float32Array.from(start.u)],
        [PREFIX_TASK_ROWS, Float32Array.from(start.v)],
      ]),
    wire: (g: Graph, _base, inputs) => {
      const t = inputs.trainables;
      const shared = t.get(PROMPT_EMBEDDINGS) ?? g.constant(meta.shared, 'float32', [L, d]);
      return {
        prompt: taskPrompt(
          shared,
          reshape(t.get(PREFIX_TASK_COLS)!, [L, r]),
          reshape(t.get(PREFIX_TASK_ROWS)!, [r, d]),
        ),
      };
    },
    adapter: (values) => ({ type: 'MULTITASK_PROMPT_TUNING', prompt: prompt(values) }),
    save: (dir, values) =>
      writePeftAdapter(dir, mptAdapterConfig(ctx, L, 1, r), [
        { name: PROMPT_EMBEDDINGS, shape: [L, d], data: values.get(PROMPT_EMBEDDINGS) ?? meta.shared },
        { name: PREFIX_TASK_COLS, shape: [1, L, r], data: values.get(PREFIX_TASK_COLS)! },
        { name: PREFIX_TASK_ROWS, shape: [1, r, d], data: values.get(PREFIX_TASK_ROWS)! },
      ]),
  };
}
