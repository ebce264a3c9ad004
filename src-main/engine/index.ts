/**
 * The training engine's public API: trace a forward pass with the graph builder and ops, add
 * losses, and turn it into one ONNX model whose outputs are the loss and the gradients of the
 * trained tensors; run it on onnxruntime-node with a chosen execution provider.
 *
 *   const g = new Graph();
 *   const prompt = g.input('prompt', 'float32', [L, d]);            // trainable: fed each step
 *   const w = g.weight('w', 'float32', [v, d], safetensorsEntry.location); // frozen, external data
 *   const loss = tokenCrossEntropy(matmul(prompt..., w, { transB: true }), targets, mask);
 *   const model = buildTrainingModel({ graph: g, loss, trainables: [prompt] });
 *   const session = await createSession(model, { provider: 'auto' });  // session.provider: in use
 *   const out = await session.run(feeds); // out[model.lossOutput], out[model.gradientOutputs.prompt]
 *
 * Conventions: weights are (out, in) as in PyTorch's nn.Linear and are multiplied through
 * matmul(x, w, { transB: true }) (FusedMatMul), never through a Transpose node; int64 feeds are
 * BigInt64Array; float16 feeds are Uint16Array bit patterns (numeric.ts).
 */
export type { DType, Dim, Shape } from './dtype.js';
export { DTYPE_BYTES, isFloat, staticSize } from './dtype.js';
export type { NumericArray, OpDef, Emitter, OnnxAttr } from './graph.js';
export { Graph, Tensor, Node } from './graph.js';
export * from './ops.js';
export { gradients, unbroadcast } from './autodiff.js';
export { tokenCrossEntropy, distillationKl, hiddenMse, weightedSum } from './losses.js';
export type { ModelOutput, SerializedModel, SerializeOptions } from './serialize.js';
export { serialize, liveNodes, OPSET } from './serialize.js';
export type { TrainingModel, TrainingModelSpec } from './training-model.js';
export { buildTrainingModel, gradientName, LOSS_SCALE_INPUT } from './training-model.js';
export { LossScaler, allFinite } from './loss-scale.js';
export type { ExternalLocation, SafetensorsEntry, SafetensorsInput } from './external-data.js';
export { readSafetensorsIndex, writeSafetensors } from './external-data.js';
export type { SafetensorsHeader, TensorBytes, TensorEntry } from './safetensors.js';
export { readSafetensorsHeader, readTensorBytes, readTensorBytesInto, writeSafetensorsTensors } from './safetensors.js';
export type {
  EngineSession,
  ModelBytes,
  ProviderAttempt,
  ProviderChoice,
  ProviderName,
  SessionOptions,
} from './session.js';
export { autoProviderOrder, computeDtypeFor, createSession, probeProvider, ort } from './session.js';
export type { ModelFacts } from './inspect.js';
export { inspectModel } from './inspect.js';
export { typedArray, toFloat16Bits, fromFloat16Bits, toNumbers } from './numeric.js';
