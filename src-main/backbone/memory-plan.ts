/**
 * Memory planning: estimate, before loading, what running a backbone will take (weights +
 * activations + KV cache) on an execution provider, and refuse with a clear message instead of
 * letting onnxruntime or the OS kill the process.
 *
 * Estimates (bytes; B = batch, S = context tokens, d = hidden, m = intermediate, H = heads,
 * V = vocab, L = layers):
 * - weights: parameters x compute width. The CPU provider computes in float32, so F16/BF16
 *   checkpoints are widened (x4 bytes); GPU providers keep 16-bit weights (x2 bytes).
 * - KV cache: 2 x L x B x kv_heads x head_dim x S x element bytes.
 * - activations, inference: one layer's live buffers at a time,
 *   B x S x (4d + 3m) + B x H x S x S (attention scores), plus logits B x S x V in float32.
 * - activations, training (backward needs every layer's saved values): L x that, plus logits x 2;
 *   layer by layer (full fine-tuning's gradient checkpointing): each layer's input B x S x d,
 *   one layer's live buffers, plus logits x 2.
 * - optimizer, training: each trained value's gradient and two AdamW moments, plus the value
 *   itself in JavaScript memory, in float32 (16 bytes per trained parameter). Full fine-tuning
 *   layer by layer trains the weights themselves: no frozen copy of them is counted. (In one graph
 *   its gradients exist twice when the step ends, onnxruntime's and their JavaScript copy: the
 *   weights term stands for that copy.)
 * A margin covers onnxruntime's arena and fragmentation.
 */
import os from 'node:os';

import { UserError } from '../common/errors.js';
import type { ExecutionProviderName, ProviderChoice } from '../common/vocabulary.js';
import type { LlamaConfig } from './hf/config.js';
import { parameterCount } from './hf/config.js';

export type ExecutionProvider = ExecutionProviderName;

/** The provider a plan is made for: 'auto' (or none) may end on the CPU, so it is planned as the CPU. */
export function plannedProvider(choice: ProviderChoice | undefined): ExecutionProvider {
  return choice === undefined || choice === 'auto' ? 'cpu' : choice;
}

export interface MemoryPlanRequest {
  readonly provider: ExecutionProvider;
  /** The checkpoint's weight dtype (safetensors name). */
  readonly weightDType: string;
  readonly batch: number;
  /** Tokens per sequence (prompt + virtual tokens + generated). */
  readonly contextTokens: number;
  readonly mode: 'inference' | 'training';
  /**
   * The graph's compute dtype when the caller knows it. Default: float16 on GPU providers for
   * 16-bit checkpoints (the training engine's choice), float32 otherwise. The inference runner
   * passes its own (generate/runner.ts graphComputeDType).
   */
  readonly computeDType?: 'float32' | 'float16';
  /** Trained parameters (training mode): every weight for full fine-tuning. */
  readonly trainableParameters?: number;
  /** Full fine-tuning one layer at a time (peft/full/layerwise-step.ts). */
  readonly layerwise?: boolean;
}

export interface MemoryPlan {
  readonly weightsBytes: number;
  readonly activationBytes: number;
  readonly kvCacheBytes: number;
  readonly optimizerBytes: number;
  readonly overheadBytes: number;
  readonly totalBytes: number;
  readonly computeDType: 'float32' | 'float16';
}

const ARENA_MARGIN = 0.15;

export function estimateMemory(c: LlamaConfig, r: MemoryPlanRequest): MemoryPlan {
  const sixteenBit = r.weightDType === 'F16' || r.weightDType === 'BF16';
  const computeDType = r.computeDType ?? (r.provider !== 'cpu' && sixteenBit ? 'float16' : 'float32');
  const el = computeDType === 'float16' ? 2 : 4;
  const layerwise = r.mode === 'training' && r.layerwise === true;
  const weightsBytes = layerwise ? 0 : parameterCount(c) * el;
  const { batch: B, contextTokens: S } = r;
  const kvCacheBytes = r.mode === 'inference' ? 2 * c.numLayers * B * c.numKvHeads * c.headDim * S * el : 0;
  const perLayer = B * S * (4 * c.hiddenSize + 3 * c.intermediateSize) * el + B * c.numHeads * S * S * el;
  const logits = B * S * c.vocabSize * 4;
  const activationBytes =
    r.mode === 'inference'
      ? perLayer + logits
      : layerwise
        ? c.numLayers * B * S * c.hiddenSize * el + perLayer + 2 * logits
        : c.numLayers * perLayer + 2 * logits;
  const optimizerBytes = r.mode === 'training' ? 16 * (r.trainableParameters ?? 0) : 0;
  const subtotal = weightsBytes + kvCacheBytes + activationBytes + optimizerBytes;
  const overheadBytes = Math.round(subtotal * ARENA_MARGIN);
  return {
    weightsBytes,
    activationBytes,
    kvCacheBytes,
    optimizerBytes,
    overheadBytes,
    totalBytes: subtotal + overheadBytes,
    computeDType,
  };
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024).toFixed(1)} KiB`;
}

/** Memory this process may use on the CPU provider: free RAM (the OS's estimate). */
export function availableCpuBytes(): number {
  return os.freemem();
}

/**
 * Refuses a plan that will not fit in `availableBytes`, with a message that says what to change.
 * `what` names the backbone folder.
 */
export function assertFits(plan: MemoryPlan, availableBytes: number, what: string, r: MemoryPlanRequest): void {
  if (plan.totalBytes <= availableBytes) return;
  throw new UserError(
    'OUT_OF_MEMORY',
    `${what} needs about ${formatBytes(plan.totalBytes)} on ${r.provider} (weights ${formatBytes(plan.weightsBytes)}, ` +
      `activations ${formatBytes(plan.activationBytes)}, ` +
      (r.mode === 'training'
        ? `gradients and optimizer state ${formatBytes(plan.optimizerBytes)}) for batch ${r.batch} x ${r.contextTokens} tokens, ` +
          `but only ${formatBytes(availableBytes)} is available. Use a smaller batch (--batch-size) or --max-length, ` +
          `a method that trains fewer parameters (pt, lora), a provider with more memory, or a smaller backbone.`
        : `KV cache ${formatBytes(plan.kvCacheBytes)}) for batch ${r.batch} x ${r.contextTokens} tokens, but only ` +
          `${formatBytes(availableBytes)} is available. Use a smaller batch or context (--max-tokens), a provider with ` +
          `more memory, or a smaller backbone.`),
  );
}
