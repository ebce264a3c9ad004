/**
 * The training step of any method as one ONNX model (engine/training-model.ts): the one forward
 * (backbone/llama/model.ts) over a padded batch, with the method's trainables wired in, the
 * masked next-token cross-entropy over target positions, and the gradient of every trainable.
 *
 * Inputs: input_ids, attention_mask, targets (int64, (batch, tokens)), loss_mask (float32), one
 * float32 input per trainable (named as PEFT saves it), the method's step inputs, and loss_scale
 * with float16 compute. Outputs: loss and grad.<trainable>.
 */
import type { Tensor, TrainingModel } from '../engine/index.js';
import { buildTrainingModel, Graph, tokenCrossEntropy } from '../engine/index.js';
import type { ComputeDType } from '../backbone/generate/inference-graph.js';
import { checkpointWeights } from '../backbone/generate/inference-graph.js';
import type { LlamaConfig } from '../backbone/hf/config.js';
import type { TensorEntry } from '../backbone/hf/safetensors.js';
import { llamaForward } from '../backbone/llama/model.js';
import type { MethodInstance } from './method.js';

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
    (method.stepInputs ?? []).map((s) => [s.name, g.input(s.name, 'float32', [...s.shape])]),
  );
  const wiring = method.wire(g, base, { trainables, extra });
  const { logits } = llamaForward(config, wiring.weights ?? base, {
    inputIds,
    attentionMask,
    dtype,
    ...(wiring.prompt && { prompt: wiring.prompt }),
    ...(wiring.hook && { hook: wiring.hook }),
  });
  return buildTrainingModel({
    graph: g,
    loss: tokenCrossEntropy(logits, targets, lossMask),
    trainables: [...trainables.values()],
    ...(dtype === 'float16' && { lossScale: 'input' as const }),
  });
}
