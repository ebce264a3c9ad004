/**
 * Full fine-tuning's training step one decoder layer at a time (gradient checkpointing, as
 * transformers' gradient_checkpointing_enable): a forward pass keeps only each layer's input; then
 * the last layer with the head and the loss, then each lower layer from the top down, recompute
 * their forward and backpropagate the gradient of their output.
 *
 * Why: onnxruntime-node copies every output into a new JavaScript buffer before it frees any, so a
 * whole-graph step holds every weight's gradient twice at its end (onnxruntime's and the copy), on
 * top of every layer's activations: 1.19x PyTorch's peak memory for the dim 1024 x 12 benchmark
 * model. Here one run's outputs are one layer's gradients, and one layer's activations live at a
 * time. The price is the forward pass computed twice.
 *
 * Three sessions: `forward` (the embedding and layers 0..L-2; outputs each layer's input), `top`
 * (layer L-1, the final norm, the LM head and the loss; outputs their gradients and the gradient
 * of the layer's input) and `layer` (one layer, fed any layer's weights under layer 0's names,
 * seeded with the gradient of its output). The embedding's gradient is the first layer's input
 * gradient added up by token id (plus the LM head's, when tied), in TypeScript.
 */
import type { EngineSession, ModelBytes, Tensor } from '../../engine/index.js';
import {
  buildTrainingModel,
  createSession,
  gradientName,
  Graph,
  maskPositions,
  mul,
  ort,
  reduceSum,
  serialize,
  tokenCrossEntropy,
} from '../../engine/index.js';
import type { LlamaConfig } from '../../backbone/hf/config.js';
import {
  EMBED_TOKENS,
  expectedLlamaTensors,
  FINAL_NORM,
  LM_HEAD,
  layerTensorNames,
} from '../../backbone/hf/llama-tensors.js';
import { causalMask, decoderLayers, embed, logitsOf, rmsNorm } from '../../backbone/llama/model.js';
import type { TensorValues } from '../method.js';
import { lossTargets } from '../training-graph.js';
import type { StepContext, TrainingStep } from '../training-step.js';

/** A layer's input (B, T, d) in the `top` and `layer` graphs. */
const HIDDEN = 'hidden';
/** The gradient of the loss with respect to the layer's output (B, T, d): the `layer` graph's seed. */
const OUTPUT_GRAD = 'output_grad';
/** The `forward` graph's outputs: layer l's input. */
const layerInput = (l: number): string => `hidden.${l}`;

type Shapes = ReadonlyMap<string, readonly number[]>;

/** Layer l's tensors that this checkpoint has (biases only with attentionBias), in a fixed order. */
const layerTensors = (shapes: Shapes, l: number): string[] =>
  Object.values(layerTensorNames(l)).filter((n) => shapes.has(n));

/** Graph inputs for `names`; the weight source that returns them. */
function weightInputs(g: Graph, shapes: Shapes, names: readonly string[]) {
  const inputs = new Map(names.map((n) => [n, g.input(n, 'float32', [...shapes.get(n)!])]));
  const source = (name: string): Tensor => {
    const t = inputs.get(name);
    if (!t) throw new Error(`layer-wise step: ${name} is not an input of this graph`);
    return t;
  };
  return { inputs, source };
}

const batchInput = (g: Graph, name: string, dtype: 'int64' | 'float32') => g.input(name, dtype, ['batch', 'tokens']);

function forwardModel(c: LlamaConfig, shapes: Shapes) {
  const g = new Graph();
  const names = [EMBED_TOKENS];
  for (let l = 0; l < c.numLayers - 1; l++) names.push(...layerTensors(shapes, l));
  const { source } = weightInputs(g, shapes, names);
  const x = embed(source, batchInput(g, 'input_ids', 'int64'));
  const mask = causalMask(x, batchInput(g, 'attention_mask', 'int64'));
  const { outputs } = decoderLayers(c, source, x, 0, c.numLayers - 1, { mask });
  const inputs = [x, ...outputs].map((tensor, l) => ({ name: layerInput(l), tensor }));
  return { model: serialize(g, inputs), names };
}

function hiddenInput(g: Graph, c: LlamaConfig): Tensor {
  return g.input(HIDDEN, 'float32', ['batch', 'tokens', c.hiddenSize]);
}

function topModel(c: LlamaConfig, shapes: Shapes) {
  const g = new Graph();
  const last = c.numLayers - 1;
  const names = [...layerTensors(shapes, last), FINAL_NORM, c.tieWordEmbeddings ? EMBED_TOKENS : LM_HEAD];
  const { inputs, source } = weightInputs(g, shapes, names);
  const hidden = hiddenInput(g, c);
  const mask = causalMask(hidden, batchInput(g, 'attention_mask', 'int64'));
  const out = decoderLayers(c, source, hidden, last, last + 1, { mask }).out;
  const targets = batchInput(g, 'targets', 'int64');
  const lossMask = batchInput(g, 'loss_mask', 'float32');
  const lossPositions = maskPositions(lossMask);
  const logits = logitsOf(c, source, rmsNorm(out, source(FINAL_NORM), c.rmsNormEps), lossPositions);
  const at = lossTargets({ targets, lossMask, lossPositions });
  const loss = tokenCrossEntropy(logits, at.targets, at.mask);
  return { model: buildTrainingModel({ graph: g, loss, trainables: [...inputs.values(), hidden] }), names };
}

/** Layer 0's graph, seeded with its output's gradient: any layer runs in it (the layers are alike). */
function layerModel(c: LlamaConfig, shapes: Shapes) {
  const g = new Graph();
  const names = layerTensors(shapes, 0);
  const { inputs, source } = weightInputs(g, shapes, names);
  const hidden = hiddenInput(g, c);
  const mask = causalMask(hidden, batchInput(g, 'attention_mask', 'int64'));
  const out = decoderLayers(c, source, hidden, 0, 1, { mask }).out;
  const seed = g.input(OUTPUT_GRAD, 'float32', ['batch', 'tokens', c.hiddenSize]);
  // d(sum(out * seed))/dw = seed^T d(out)/dw: the layer's vector-Jacobian product
  const loss = reduceSum(mul(out, seed), [0, 1, 2]);
  return { model: buildTrainingModel({ graph: g, loss, trainables: [...inputs.values(), hidden] }), names };
}

export async function layerwiseStep(ctx: StepContext): Promise<TrainingStep> {
  const { config: c } = ctx;
  // the trained weights are float32 graph inputs (the trainer never runs full fine-tuning in float16)
  if (ctx.dtype !== 'float32') throw new Error(`layer-wise step: float32 compute only, not ${ctx.dtype}`);
  const shapes = expectedLlamaTensors(c);
  const f = forwardModel(c, shapes);
  const t = topModel(c, shapes);
  const l0 = c.numLayers > 1 ? layerModel(c, shapes) : undefined;
  const started: EngineSession[] = [];
  const start = async (model: ModelBytes) => {
    try {
      const session = await createSession(model, ctx.session);
      started.push(session);
      return session;
    } catch (error) {
      await Promise.all(started.map((s) => s.release())); // none left holding memory
      throw error;
    }
  };
  const forward = await start(f.model);
  const top = await start(t.model);
  const layer = l0 && (await start(l0.model));
  const [vocab, d] = shapes.get(EMBED_TOKENS)!;
  // each lower layer's tensors, in the order of the generic layer graph's (l0.names)
  const lowerLayers = Array.from({ length: c.numLayers - 1 }, (_, l) => layerTensors(shapes, l));
  // Untied: the embedding's gradient buffer, reused every step. A fresh (vocab x d) buffer each
  // step cost its first touch in page faults: 0.4-0.7 s of a 4.5 s step of the dim 1024 x 12
  // benchmark model. Shared memory, so that the optimizer threads never take it away.
  const embeddingGradient = new Float32Array(new SharedArrayBuffer(c.tieWordEmbeddings ? 0 : vocab! * d! * 4));

  const tensor = (values: TensorValues, name: string, as = name) => ({
    [as]: new ort.Tensor('float32', values.get(name)!, [...shapes.get(name)!]),
  });
  const weightFeeds = (values: TensorValues, names: readonly string[]) =>
    Object.assign({}, ...names.map((n) => tensor(values, n)));

  return {
    provider: forward.provider,
    sessions: started.length,
    async run(feeds, values) {
      const { input_ids: ids, attention_mask: attention } = feeds;
      const layerInputs = await forward.run({
        input_ids: ids!,
        attention_mask: attention!,
        ...weightFeeds(values, f.names),
      });
      const grads = new Map<string, Float32Array>();
      const last = await top.run({
        [HIDDEN]: layerInputs[layerInput(c.numLayers - 1)]!,
        attention_mask: attention!,
        targets: feeds.targets!,
        loss_mask: feeds.loss_mask!,
        ...weightFeeds(values, t.names),
      });
      for (const n of t.names) grads.set(n, last[gradientName(n)]!.data as Float32Array);
      let seed = last[gradientName(HIDDEN)]!;
      for (let l = c.numLayers - 2; l >= 0; l--) {
        const own = lowerLayers[l]!;
        const out = await layer!.run({
          [HIDDEN]: layerInputs[layerInput(l)]!,
          [OUTPUT_GRAD]: seed,
          attention_mask: attention!,
          ...Object.assign({}, ...own.map((n, k) => tensor(values, n, l0!.names[k]))),
        });
        own.forEach((n, k) => grads.set(n, out[gradientName(l0!.names[k]!)]!.data as Float32Array));
        seed = out[gradientName(HIDDEN)]!;
      }
      // The embedding lookup's gradient: each position's input gradient added to its token's row
      // (to the LM head's gradient when tied, else to zeros).
      const table = grads.get(EMBED_TOKENS) ?? embeddingGradient.fill(0);
      const rows = seed.data as Float32Array;
      const tokenIds = ids!.data as BigInt64Array;
      for (let p = 0; p < tokenIds.length; p++) {
        const row = Number(tokenIds[p]) * d!;
        for (let k = 0; k < d!; k++) table[row + k]! += rows[p * d! + k]!;
      }
      grads.set(EMBED_TOKENS, table);
      return { loss: Number(last.loss!.data[0]), parts: {}, grads };
    },
    async release() {
      await Promise.all(started.map((s) => s.release()));
    },
  };
}
