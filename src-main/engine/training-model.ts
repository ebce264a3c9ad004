/**
 * One ONNX model per training step: its outputs are the loss and the gradients of exactly the
 * trainable tensors (graph inputs fed each step; the optimizer runs in TypeScript on them).
 *
 * Loss scaling (for float16 compute): the backward pass is seeded with `lossScale` instead of 1 so
 * small float16 gradients do not flush to zero, and each gradient is cast to float32 and divided
 * by the scale inside the graph. Non-finite gradients then mean "skip this step, lower the scale".
 */
import { gradients } from './autodiff.js';
import type { Tensor } from './graph.js';
import type { Graph } from './graph.js';
import { cast, div, scalar } from './ops.js';
import type { ModelOutput, SerializedModel } from './serialize.js';
import { serialize } from './serialize.js';

export interface TrainingModelSpec {
  readonly graph: Graph;
  /** A scalar. */
  readonly loss: Tensor;
  /** Graph inputs that are trained (e.g. the prompt); only their gradients are built. */
  readonly trainables: readonly Tensor[];
  /** More outputs to return each step (e.g. per-task losses, logits for metrics). */
  readonly extraOutputs?: readonly ModelOutput[];
  /**
   * Loss scale for float16 compute: a number (static; default 1 = none), or 'input' for a scalar
   * float32 graph input named `loss_scale` fed each step (dynamic scaling, see LossScaler).
   */
  readonly lossScale?: number | 'input';
}

export interface TrainingModel extends SerializedModel {
  /** Output name of the loss (unscaled). */
  readonly lossOutput: string;
  /** Output name of each trainable's gradient, by trainable name. */
  readonly gradientOutputs: Readonly<Record<string, string>>;
}

export const LOSS_SCALE_INPUT = 'loss_scale';
export const gradientName = (trainable: string): string => `grad.${trainable}`;

export function buildTrainingModel(spec: TrainingModelSpec): TrainingModel {
  const { loss, trainables } = spec;
  if (loss.rank !== 0) throw new Error(`The loss must be a scalar, got ${loss}`);
  for (const t of trainables)
    if (t.source.kind !== 'input') throw new Error(`Trainable ${t.name} must be a graph input fed each step`);
  const scale: number | Tensor =
    spec.lossScale === 'input' ? spec.graph.input(LOSS_SCALE_INPUT, 'float32', []) : (spec.lossScale ?? 1);
  const seed = typeof scale === 'number' ? (scale === 1 ? undefined : scalar(loss, scale)) : cast(scale, loss.dtype);
  const grads = gradients(loss, trainables, seed);
  const gradientOutputs: Record<string, string> = {};
  const outputs: ModelOutput[] = [{ name: 'loss', tensor: loss }];
  trainables.forEach((t, k) => {
    let g = grads[k]!;
    if (g.dtype === 'float16') g = cast(g, 'float32');
    if (scale !== 1) g = div(g, scale);
    gradientOutputs[t.name] = gradientName(t.name);
    outputs.push({ name: gradientName(t.name), tensor: g });
  });
  outputs.push(...(spec.extraOutputs ?? []));
  return { ...serialize(spec.graph, outputs), lossOutput: 'loss', gradientOutputs };
}
