/**
 * Reads back an ONNX model's size facts (for tests and benchmarks): how many bytes of
 * initializers it holds inline and by external reference, and its op counts. Used on the model
 * onnxruntime writes after optimization to check that no weight was copied (e.g. a constant-folded
 * Transpose of a weight would add a second copy).
 */
import onnxProto from 'onnx-proto';
import { DTYPE_BYTES } from './dtype.js';
import type { DType } from './dtype.js';
import { ONNX_DTYPE } from './dtype.js';

const { onnx } = onnxProto;
const DTYPE_OF_CODE = new Map(Object.entries(ONNX_DTYPE).map(([k, v]) => [v, k as DType]));

export interface ModelFacts {
  /** Bytes of all initializers (inline + external). */
  readonly initializerBytes: number;
  /** Bytes of initializers stored by reference to external files. */
  readonly externalBytes: number;
  readonly initializers: number;
  readonly ops: Record<string, number>;
}

export function inspectModel(bytes: Uint8Array): ModelFacts {
  const model = onnx.ModelProto.decode(bytes);
  let initializerBytes = 0;
  let externalBytes = 0;
  const inits = model.graph?.initializer ?? [];
  for (const t of inits) {
    const n = (t.dims ?? []).reduce((a: number, d) => a * Number(d), 1);
    const dtype = DTYPE_OF_CODE.get(t.dataType ?? 0);
    const size = dtype ? n * DTYPE_BYTES[dtype] : (t.rawData?.length ?? 0);
    initializerBytes += size;
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) externalBytes += size;
  }
  const ops: Record<string, number> = {};
  for (const node of model.graph?.node ?? []) ops[node.opType ?? '?'] = (ops[node.opType ?? '?'] ?? 0) + 1;
  return { initializerBytes, externalBytes, initializers: inits.length, ops };
}
