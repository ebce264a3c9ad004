/**
 * What a training method is to the trainer: the tensors it trains (named as PEFT saves them), how
 * they start, how they enter the one forward pass (backbone/llama/model.ts: a soft prompt before
 * the tokens, a linear-layer hook, or the weights themselves), how they run at inference, and how
 * they are saved. Each method lives in its own folder (config + model) and is registered in
 * methods.ts.
 */
import { createHash } from 'node:crypto';

import type { DType, Graph, Tensor } from '../engine/index.js';
import type { LlamaConfig } from '../backbone/hf/config.js';
import type { Backbone } from '../backbone/load.js';
import type { LinearHook, WeightSource } from '../backbone/llama/model.js';
import type { Random } from '../common/random.js';
import type { PeftAdapter } from './adapter-folder.js';
import type { StepContext, TrainingStep } from './training-step.js';

/** A trained tensor: its name in the saved files, and its shape. */
export interface TrainableSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** AdamW weight decay applies (false for norms and soft prompts). */
  readonly decay: boolean;
}

export type TensorValues = ReadonlyMap<string, Float32Array>;

/** How the trainables enter the forward pass. */
export interface ForwardWiring {
  readonly prompt?: Tensor;
  readonly hook?: LinearHook;
  readonly weights?: WeightSource;
}

export interface GraphInputs {
  /** The trainable tensors, as graph inputs fed each step. */
  readonly trainables: ReadonlyMap<string, Tensor>;
  /** Extra per-step inputs the method declared (e.g. dropout masks), by name. */
  readonly extra: ReadonlyMap<string, Tensor>;
}

/**
 * Per-step inputs other than the batch and the trainables: LoRA's dropout masks, MPT's task id
 * and teacher prompt.
 */
export interface StepInputSpec {
  readonly name: string;
  readonly dtype?: 'float32' | 'int64';
  /** Shape with 'batch' and 'tokens' for the step's batch size and padded length. */
  readonly shape: readonly (number | 'batch' | 'tokens')[];
  /**
   * Fills it for one forward pass of task `task` (the index into the trainer's tasks); `random`
   * is seeded by (seed, step, micro-batch).
   */
  fill(values: Float32Array | BigInt64Array, random: Random, task: number): void;
}

/** The padded batch's graph inputs: (batch, tokens) each. */
export interface BatchInputs {
  readonly inputIds: Tensor;
  readonly attentionMask: Tensor;
  readonly targets: Tensor;
  readonly lossMask: Tensor;
  /** Flat indices into (batch * tokens) where lossMask is set, found in the graph: (N). */
  readonly lossPositions: Tensor;
}

/** What a method's own loss is built from (default: next-token cross-entropy of its forward). */
export interface LossContext {
  readonly graph: Graph;
  readonly config: LlamaConfig;
  readonly dtype: DType;
  readonly weights: WeightSource;
  readonly batch: BatchInputs;
  readonly inputs: GraphInputs;
  readonly wiring: ForwardWiring;
}

export interface MethodLoss {
  readonly loss: Tensor;
  /** Scalar terms logged per task (e.g. ce, kl, mse). */
  readonly parts?: Readonly<Record<string, Tensor>>;
}

export interface MethodInstance {
  /** The registry name: 'pt', 'lora', 'full', ... */
  readonly method: string;
  /** The method's settings, validated, as recorded in run.json. */
  readonly settings: Readonly<Record<string, unknown>>;
  readonly trainables: readonly TrainableSpec[];
  /** The trainable count in the paper's symbols, where it has them: "L*d + L*r + r*d = 16*192 + 16*1 + 1*192" (MPT). */
  readonly countFormula?: string;
  /** The learning rate when the user gives none. */
  readonly defaultLr: number;
  /**
   * A digest of what the method reads besides the backbone and its settings (the teachers'
   * prompts, a meta-prompt), part of the run's identity: a folder retrained in place makes a new
   * run, never a resume against the old one's checkpoint. Settings name folders, not contents.
   */
  readonly inputsDigest?: string;
  readonly stepInputs?: readonly StepInputSpec[];
  /**
   * Its own forward + backward step, where one session over the whole training graph is not the
   * best one (full fine-tuning: layer by layer); undefined: the whole-graph step.
   */
  trainingStep?(ctx: StepContext): Promise<TrainingStep> | undefined;
  /** Its training step runs one decoder layer at a time (what memory planning counts). */
  readonly layerwise?: boolean;
  /** The training loss, when not plain cross-entropy (MPT distillation). */
  loss?(ctx: LossContext): MethodLoss;
  /** Initial values, drawn with the run's seed. */
  initialValues(random: Random): Map<string, Float32Array>;
  wire(g: Graph, base: WeightSource, inputs: GraphInputs): ForwardWiring;
  /** The trained state at inference (generation, scoring, evaluation). */
  adapter(values: TensorValues): PeftAdapter;
  /** Writes the trained state as files others load (PEFT adapter files, or a model folder). */
  save(dir: string, values: TensorValues): void;
}

export interface MethodContext {
  readonly backbone: Backbone;
  readonly backboneName: string;
}

/** SHA-256 over tensors' bytes in order, short: `inputsDigest` for methods that read tensors from files. */
export function tensorsDigest(tensors: readonly Float32Array[]): string {
  const hash = createHash('sha256');
  for (const t of tensors) hash.update(new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
  return hash.digest('hex').slice(0, 16);
}
