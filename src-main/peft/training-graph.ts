/**
 * The training step of any method as one ONNX model (engine/training-model.ts): the one forward
 * (backbone/llama/model.ts) over a padded batch, with the method's trainables wired in, the
 * masked next-token cross-entropy over target positions (the LM head computed at those positions
 * only), and the gradient of every trainable.
 *
 * Inputs: input_ids, attention_mask, targets (int64, (batch, tokens)), loss_mask (float32), one
 * float32 input per trainable (named as PEFT saves it), the method's step inputs, and loss_scale
 * with float16 compute. Outputs: loss and grad.<trainable>.
 */
import type { Tensor, TrainingModel } from '../engine/index.js';
import { buildTrainingModel, gather, Graph, maskPositions, reshape, tokenCrossEntropy } from '../engine/index.js';
import type { ComputeDType } from '../backbone/generate/inference-graph.js';
import { checkpointWeights } from '../backbone/generate/inference-graph.js';
import type { LlamaConfig } from '../backbone/hf/config.js';
import type { TensorEntry } from '../backbone/hf/safetensors.js';
import { llamaForward } from '../backbone/llama/model.js';
import type { WeightSource } from '../backbone/llama/model.js';
import type { BatchInputs, ForwardWiring, MethodInstance, MethodLoss } from './method.js';

export const partOutput = (name: string): string => `part.${name}`;

/**
 * The forward of a method's wiring over the batch. Its logits are (N, V), at the batch's loss
 * positions only (batch.lossPositions); lossTargets gives their targets and mask.
 */
export function methodForward(
  config: LlamaConfig,
  weights: WeightSource,
  batch: BatchInputs,
  wiring: ForwardWiring,
  dtype: ComputeDType,
) {
  return llamaForward(config, weights, {
    inputIds: batch.inputIds,
    attentionMask: batch.attentionMask,
    dtype,
    logitsAt: batch.lossPositions,
    ...(wiring.prompt && { prompt: wiring.prompt }),
    ...(wiring.hook && { hook: wiring.hook }),
  });
}

/** The targets and loss mask at the loss positions, (N) each, matching methodForward's logits. */
export function lossTargets(batch: Pick<BatchInputs, 'targets' | 'lossMask' | 'lossPositions'>): {
  targets: Tensor;
  mask: Tensor;
} {
  const at = (t: Tensor) => gather(reshape(t, [-1]), batch.lossPositions, 0);
  return { targets: at(batch.targets), mask: at(batch.lossMask) };
}

/** Masked next-token cross-entropy over the target positions. */
export function crossEntropy(
  config: LlamaConfig,
  weights: WeightSource,
  batch: BatchInputs,
  wiring: ForwardWiring,
  dtype: ComputeDType,
): MethodLoss {
  const { logits } = methodForward(config, weights, batch, wiring, dtype);
  const { targets, mask } = lossTargets(batch);
  return { loss: tokenCrossEntropy(logits, targets, mask) };
}

export function buildMethodTrainingModel(
  config: LlamaConfig,
  tensors: ReadonlyMap<string, TensorEntry>,
  method: MethodInstance,
  dtype: ComputeDType = 'float32',
): TrainingModel {
  const g = new Graph();
  const base = checkpointWeights(g, tensors, dtype);
  const inputIds = g.input('input_ids', 'int64', ['batch', 'tokens']);
  const attentionMask = g.input('attention_mask', 'int64', ['batch', 'tokens']);
  const targets = g.input('targets', 'int64', ['batch', 'tokens']);
  const lossMask = g.input('loss_mask', 'float32', ['batch', 'tokens']);
  const trainables = new Map<string, Tensor>(
    method.trainables.map((t) => [t.name, g.input(t.name, 'float32', [...t.shape])]),
  );
  const extra = new Map<string, Tensor>(
    (method.stepInputs ?? []).map((s) => [s.name, g.input(s.name, s.dtype ?? 'float32', [...s.shape])]),
  );
  const inputs = { trainables, extra };
  const wiring = method.wire(g, base, inputs);
  const weights = wiring.weights ?? base;
  const batch = { inputIds, attentionMask, targets, lossMask, lossPositions: maskPositions(lossMask) };
  const { loss, parts } = method.loss
    ? method.loss({ graph: g, config, dtype, weights, batch, inputs, wiring })
    : crossEntropy(config, weights, batch, wiring, dtype);
  return buildTrainingModel({
    graph: g,
    loss,
    trainables: [...trainables.values()],
    extraOutputs: Object.entries(parts ?? {}).map(([name, tensor]) => ({ name: partOutput(name), tensor })),
    ...(dtype === 'float16' && { lossScale: 'input' as const }),
  });
}
