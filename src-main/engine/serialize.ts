/**
 * ONNX emission: writes the part of a graph that the requested outputs need (dead branches are
 * pruned) as an ONNX ModelProto (onnx/onnx.proto3 v1.10.2 via the pre-generated onnx-proto
 * package). Frozen weights given by location become external-data initializers
 * (TensorProto.data_location = EXTERNAL with "location"/"offset"/"length" entries).
 */
import { dirname, relative, resolve, sep } from 'node:path';
import onnxProto from 'onnx-proto';
import type { DType } from './dtype.js';
import { ONNX_DTYPE } from './dtype.js';
import { isExternalLocation } from './external-data.js';
import type { Emitter, Graph, Node, NumericArray, OnnxAttr, Tensor } from './graph.js';
import { MS_DOMAIN } from './ops.js';

const { onnx } = onnxProto;

/** Opset of the default domain; com.microsoft contrib ops use version 1. */
export const OPSET = 18;
/** onnx.proto3 IR_VERSION 8 (ONNX 1.10). */
const IR_VERSION = 8;

export interface ModelOutput {
  readonly name: string;
  readonly tensor: Tensor;
}

export interface SerializeOptions {
  /**
   * Folder external data locations are written relative to, as ONNX requires (default: the
   * deepest folder holding every external file). Sessions read the data from there.
   */
  readonly externalDataDir?: string;
  readonly producer?: string;
}

export interface SerializedModel {
  readonly bytes: Uint8Array;
  /** Folder that external data locations are relative to; undefined when all data is inline. */
  readonly externalDataDir: string | undefined;
  /** Graph inputs the model actually uses (pruned inputs are dropped), in order. */
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly ModelOutput[];
  /** Counts, for reports and tests. */
  readonly stats: { readonly onnxNodes: number; readonly graphNodes: number; readonly ops: Record<string, number> };
}

/** Nodes needed to compute `targets`, in topological order (dead-branch pruning). */
export function liveNodes(graph: Graph, targets: readonly Tensor[]): Node[] {
  const needed = new Set(targets.map((t) => t.id));
  const live: Node[] = [];
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const node = graph.nodes[k]!;
    if (!node.outputs.some((o) => needed.has(o.id))) continue;
    for (const t of node.inputs) needed.add(t.id);
    live.push(node);
  }
  return live.reverse();
}

/** The deepest folder containing all paths (undefined for none). */
function commonFolder(paths: readonly string[]): string | undefined {
  if (paths.length === 0) return undefined;
  let parts = dirname(resolve(paths[0]!)).split(sep);
  for (const p of paths.slice(1)) {
    const other = dirname(resolve(p)).split(sep);
    let k = 0;
    while (k < parts.length && parts[k] === other[k]) k++;
    parts = parts.slice(0, k);
  }
  return parts.join(sep) || sep;
}

type TensorProto = InstanceType<typeof onnx.TensorProto>;

function rawBytes(data: NumericArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function valueInfo(name: string, dtype: DType, shape: readonly (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: ONNX_DTYPE[dtype],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

function attribute(name: string, a: OnnxAttr) {
  const T = onnx.AttributeProto.AttributeType;
  if ('i' in a) return onnx.AttributeProto.create({ name, type: T.INT, i: a.i });
  if ('f' in a) return onnx.AttributeProto.create({ name, type: T.FLOAT, f: a.f });
  if ('ints' in a) return onnx.AttributeProto.create({ name, type: T.INTS, ints: [...a.ints] });
  if ('floats' in a) return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: [...a.floats] });
  return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(a.s) });
}

export function serialize(
  graph: Graph,
  outputs: readonly ModelOutput[],
  options: SerializeOptions = {},
): SerializedModel {
  const live = liveNodes(
    graph,
    outputs.map((o) => o.tensor),
  );
  const used = new Set<number>(outputs.map((o) => o.tensor.id));
  for (const n of live) for (const t of n.inputs) used.add(t.id);

  const nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  const initializers: TensorProto[] = [];
  const constantNames = new Map<string, string>();
  let tmpCount = 0;
  const ops: Record<string, number> = {};

  const emitter: Emitter = {
    node(opType, inputs, outs, attrs = {}, domain) {
      ops[opType] = (ops[opType] ?? 0) + 1;
      nodes.push(
        onnx.NodeProto.create({
          opType,
          input: [...inputs],
          output: [...outs],
          name: `${opType}_${nodes.length}`,
          attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
          ...(domain && { domain }),
        }),
      );
    },
    constant(data, dtype, dims) {
      const bytes = rawBytes(data);
      // Identical small constants (scalars, axes) are shared.
      const key = `${dtype}|${dims.join(',')}|${Buffer.from(bytes).toString('base64')}`;
      const existing = constantNames.get(key);
      if (existing) return existing;
      const name = `c${constantNames.size}`;
      constantNames.set(key, name);
      initializers.push(
        onnx.TensorProto.create({ name, dataType: ONNX_DTYPE[dtype], dims: [...dims], rawData: bytes }),
      );
      return name;
    },
    tmp: (hint) => `${hint}__${tmpCount++}`,
  };

  const externalPaths = graph.tensors.flatMap((t) =>
    used.has(t.id) && t.source.kind === 'weight' && isExternalLocation(t.source.data) ? [t.source.data.path] : [],
  );
  const externalDataDir = options.externalDataDir ?? commonFolder(externalPaths);
  const inputs: Tensor[] = [];
  for (const t of graph.tensors) {
    if (!used.has(t.id)) continue;
    const src = t.source;
    if (src.kind === 'input') inputs.push(t);
    else if (src.kind === 'constant' || src.kind === 'weight') {
      const dims = t.shape.map((d) => {
        if (typeof d !== 'number') throw new Error(`${t.name}: weights and constants need a fully known shape`);
        return d;
      });
      const data = src.data;
      if (isExternalLocation(data)) {
        const location = relative(externalDataDir!, data.path);
        initializers.push(
          onnx.TensorProto.create({
            name: t.name,
            dataType: ONNX_DTYPE[t.dtype],
            dims,
            dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
            externalData: [
              { key: 'location', value: location },
              { key: 'offset', value: String(data.offset) },
              { key: 'length', value: String(data.length) },
            ],
          }),
        );
      } else {
        initializers.push(
          onnx.TensorProto.create({ name: t.name, dataType: ONNX_DTYPE[t.dtype], dims, rawData: rawBytes(data) }),
        );
      }
    }
  }

  for (const node of live)
    node.op.emit(
      emitter,
      node as Node<never>,
      node.inputs.map((t) => t.name),
      node.outputs.map((t) => t.name),
    );
  for (const o of outputs) emitter.node('Identity', [o.tensor.name], [o.name]);

  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: options.producer ?? 'clinprompt-engine',
    opsetImport: [
      { domain: '', version: OPSET },
      { domain: MS_DOMAIN, version: 1 },
    ],
    graph: {
      name: 'clinprompt',
      node: nodes,
      initializer: initializers,
      input: inputs.map((t) => valueInfo(t.name, t.dtype, t.shape)),
      output: outputs.map((o) => valueInfo(o.name, o.tensor.dtype, o.tensor.shape)),
    },
  });
  return {
    bytes: onnx.ModelProto.encode(model).finish(),
    externalDataDir,
    inputs,
    outputs,
    stats: { onnxNodes: nodes.length, graphNodes: live.length, ops },
  };
}
