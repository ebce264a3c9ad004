/**
 * Loads a PEFT adapter folder (huggingface/peft's save_pretrained: adapter_config.json +
 * adapter_model.safetensors) for inference: prompt tuning, multitask prompt tuning (one task's
 * prompt P^_k = P* o (u_k v_k^T)) or LoRA. Tensor names follow PEFT's state dicts
 * (peft/utils/save_and_load.py get_peft_model_state_dict): `prompt_embeddings` (L, d);
 * `prefix_task_cols` (tasks, L, r) and `prefix_task_rows` (tasks, r, d);
 * `base_model.model.<module>.lora_A.weight` (r, in) and `.lora_B.weight` (out, r).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { UserError } from '../common/errors.js';
import type { GraphAdapter } from '../backbone/generate/inference-graph.js';
import type { SoftPrompt } from '../backbone/generate/runner.js';
import type { LlamaConfig } from '../backbone/hf/config.js';
import { expectedLlamaTensors } from '../backbone/hf/llama-tensors.js';
import { SafetensorsWeights } from '../backbone/hf/safetensors.js';
import { writeSafetensorsFile } from '../backbone/hf/safetensors-writer.js';
import type { LoraSet, LoraWeights } from './lora/layer.js';
import { loraGraphAdapter, loraScaling } from './lora/layer.js';
import { mptTaskPrompt, softPrompt } from './prompts.js';

/** PEFT's tensor names (peft/utils/save_and_load.py), used when training, saving and loading. */
export const PROMPT_EMBEDDINGS = 'prompt_embeddings'; // (L, d): the soft prompt, or MPT's shared P*
export const PREFIX_TASK_COLS = 'prefix_task_cols'; // (tasks, L, r): MPT's u_k
export const PREFIX_TASK_ROWS = 'prefix_task_rows'; // (tasks, r, d): MPT's v_k
export const loraAName = (module: string): string => `base_model.model.${module}.lora_A.weight`; // (r, in)
export const loraBName = (module: string): string => `base_model.model.${module}.lora_B.weight`; // (out, r)

/** What an adapter adds at inference: a soft prompt before the tokens, or a change to the graph. */
export interface PeftAdapter {
  /** PEFT's peft_type; FULL for fully fine-tuned weights (no PEFT equivalent). */
  readonly type: 'PROMPT_TUNING' | 'MULTITASK_PROMPT_TUNING' | 'LORA' | 'FULL';
  readonly prompt?: SoftPrompt;
  readonly graph?: GraphAdapter;
  /** LoRA's tensors, for callers that merge them instead (loraGraphAdapter(lora, true)). */
  readonly lora?: LoraSet;
}

const LORA_KEY = /^base_model\.model\.(.+)\.lora_A\.weight$/;

export function loadPeftAdapter(dir: string, config: LlamaConfig, options: { taskId?: number } = {}): PeftAdapter {
  const configFile = path.join(dir, ADAPTER_CONFIG);
  const ac = readAdapterConfig(dir);
  const weightsFile = path.join(dir, ADAPTER_WEIGHTS);
  if (!existsSync(weightsFile))
    throw new UserError(
      'NOT_FOUND',
      `${dir} has no adapter_model.safetensors (ClinPrompt reads safetensors adapters only).`,
    );
  const w = new SafetensorsWeights([weightsFile]);
  const d = config.hiddenSize;
  const type = ac['peft_type'];
  if (type === 'PROMPT_TUNING') return { type, prompt: softPrompt(w.readFloat32(PROMPT_EMBEDDINGS), d) };
  if (type === 'MULTITASK_PROMPT_TUNING') return { type, prompt: mptTaskPromptOf(w, d, options.taskId ?? 0) };
  if (type === 'LORA') {
    const rank = ac['r'];
    const alpha = ac['lora_alpha'];
    if (typeof rank !== 'number' || typeof alpha !== 'number')
      throw new UserError('BAD_FILE', `${configFile} lacks numeric "r" and "lora_alpha".`);
    const scaling = loraScaling(alpha, rank, ac['use_rslora'] === true);
    const lora = new Map<string, LoraWeights>();
    const projections = expectedLlamaTensors(config);
    for (const name of w.tensors.keys()) {
      const m = LORA_KEY.exec(name);
      if (!m) continue;
      const module = m[1]!;
      const target = projections.get(`${module}.weight`);
      const aShape = w.get(name).shape;
      const bShape = w.get(loraBName(module)).shape;
      if (!target || target.length !== 2 || !module.match(/_proj$/))
        throw new UserError('BACKBONE_MISMATCH', `${weightsFile} adapts ${module}, which this backbone does not have.`);
      const [out, inn] = target as [number, number];
      const r = aShape[0]!;
      if (aShape[1] !== inn || bShape[0] !== out || bShape[1] !== r)
        throw new UserError(
          'BACKBONE_MISMATCH',
          `${weightsFile}: ${module} LoRA shapes [${aShape.join(', ')}] / [${bShape.join(', ')}] do not fit its [${out}, ${inn}] weight; the adapter was trained on another backbone.`,
        );
      const a = w.readFloat32(name);
      const b = w.readFloat32(loraBName(module));
      lora.set(module, { a, b, rank: r, scaling });
    }
    if (lora.size === 0) throw new UserError('BAD_FILE', `${weightsFile} holds no lora_A/lora_B tensors.`);
    return { type, graph: loraGraphAdapter(lora), lora };
  }
  throw new UserError(
    'UNSUPPORTED',
    `${configFile}: peft_type ${JSON.stringify(type)} is not supported at inference (PROMPT_TUNING, MULTITASK_PROMPT_TUNING, LORA).`,
  );
}

/** Task `task`'s prompt P^_k = P* o (u_k v_k^T) from MPT tensors (PEFT's layout). */
function mptTaskPromptOf(w: SafetensorsWeights, d: number, task: number): SoftPrompt {
  const cols = w.get(PREFIX_TASK_COLS); // (tasks, L, r)
  const [tasks, L, r] = cols.shape as [number, number, number];
  if (!Number.isInteger(task) || task < 0 || task >= tasks)
    throw new UserError('INVALID_ARGUMENT', `must be 0..${tasks - 1} for this adapter (got ${task}).`, {
      field: 'taskId',
    });
  const u = w.readFloat32(PREFIX_TASK_COLS).subarray(task * L * r, (task + 1) * L * r);
  const v = w.readFloat32(PREFIX_TASK_ROWS).subarray(task * r * d, (task + 1) * r * d);
  return mptTaskPrompt(w.readFloat32(PROMPT_EMBEDDINGS), u, v, r, d);
}

/**
 * Task `task` of a MULTITASK_PROMPT_TUNING folder as a PROMPT_TUNING folder, with the task prompt
 * P* o (u v^T) computed: any PEFT version (and anything that reads PEFT's prompt tuning) loads it.
 */
export function writeMptAsPromptTuning(dir: string, outDir: string, task: number): void {
  const ac = readAdapterConfig(dir);
  if (ac['peft_type'] !== 'MULTITASK_PROMPT_TUNING')
    throw new UserError(
      'UNSUPPORTED',
      `${dir} is not a multitask prompt-tuning adapter (peft_type ${String(ac['peft_type'])}).`,
    );
  const w = new SafetensorsWeights([path.join(dir, ADAPTER_WEIGHTS)]);
  const [L, d] = w.get(PROMPT_EMBEDDINGS).shape as [number, number];
  const prompt = mptTaskPromptOf(w, d, task);
  const keep = [
    'base_model_name_or_path',
    'num_attention_heads',
    'num_layers',
    'num_transformer_submodules',
    'task_type',
  ];
  writePeftAdapter(
    outDir,
    {
      ...Object.fromEntries(keep.filter((k) => k in ac).map((k) => [k, ac[k]])),
      num_virtual_tokens: L,
      peft_type: 'PROMPT_TUNING',
      prompt_tuning_init: 'RANDOM',
      prompt_tuning_init_text: null,
      token_dim: d,
      tokenizer_name_or_path: null,
    },
    [{ name: PROMPT_EMBEDDINGS, shape: [L, d], data: prompt.embeddings }],
  );
}

/** The virtual tokens of a prompt adapter folder (PT or MPT): adapter_config.json's num_virtual_tokens. */
export function virtualTokensOf(dir: string): number {
  const n = readAdapterConfig(dir)['num_virtual_tokens'];
  if (typeof n !== 'number')
    throw new UserError(
      'BAD_FILE',
      `${dir}/${ADAPTER_CONFIG} names no num_virtual_tokens: it is not a prompt adapter.`,
      {
        field: 'adapter',
      },
    );
  return n;
}

function readAdapterConfig(dir: string): Record<string, unknown> {
  const configFile = path.join(dir, ADAPTER_CONFIG);
  if (!existsSync(configFile))
    throw new UserError('NOT_FOUND', `${dir} has no adapter_config.json: it is not a PEFT adapter or run folder.`, {
      field: 'adapter',
    });
  try {
    return JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  } catch {
    throw new UserError('BAD_FILE', `${configFile} is not valid JSON.`);
  }
}

/** PEFT's file names (peft/utils/constants.py). */
export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

/**
 * Writes a PEFT adapter folder as save_pretrained does: adapter_config.json with sorted keys and
 * `inference_mode: true`, and adapter_model.safetensors (float32, metadata {"format": "pt"}).
 * Each file is written beside its final name and renamed, so a reader never sees half a file.
 */
export function writePeftAdapter(
  dir: string,
  config: Readonly<Record<string, unknown>>,
  tensors: readonly { name: string; shape: readonly number[]; data: Float32Array }[],
): void {
  mkdirSync(dir, { recursive: true });
  const sorted = Object.fromEntries(
    Object.entries({ ...config, inference_mode: true }).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  const weights = path.join(dir, ADAPTER_WEIGHTS);
  writeSafetensorsFile(
    `${weights}.tmp`,
    tensors.map((t) => ({ ...t, shape: [...t.shape] })),
    'F32',
  );
  renameSync(`${weights}.tmp`, weights);
  const configFile = path.join(dir, ADAPTER_CONFIG);
  writeFileSync(`${configFile}.tmp`, JSON.stringify(sorted, null, 2) + '\n');
  renameSync(`${configFile}.tmp`, configFile);
}
