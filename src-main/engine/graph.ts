/**
 * The graph builder: typed tensors (dtype + symbolic shape) and the op applications that produce
 * them. A model's forward pass is traced by calling op functions (ops.ts) on tensors; the
 * reverse-mode walker (autodiff.ts) appends the backward pass to the same graph; serialize.ts
 * emits the part of it that the requested outputs need as one ONNX model.
 *
 * Nodes are kept in creation order, which is a topological order: an op can only be applied to
 * tensors that already exist.
 */
import type { DType, Shape } from './dtype.js';
import { shapeToString } from './dtype.js';
import type { ExternalLocation } from './external-data.js';

export type NumericArray = Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;

/** Where a tensor's value comes from. 'value' tensors are computed by a node. */
export type TensorSource =
  | { readonly kind: 'input' }
  | { readonly kind: 'weight'; readonly data: ExternalLocation | NumericArray }
  | { readonly kind: 'constant'; readonly data: NumericArray }
  | { readonly kind: 'value'; readonly producer: Node; readonly index: number };

export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly source: TensorSource,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name}: ${this.dtype}${shapeToString(this.shape)}`;
  }
}

/** Output dtype and shape of an op, computed from its inputs when it is applied. */
export interface OutputSpec {
  readonly dtype: DType;
  readonly shape: Shape;
}

/** ONNX attribute values, tagged with their wire type (onnx.proto3 AttributeProto.AttributeType). */
export type OnnxAttr =
  | { readonly i: number }
  | { readonly f: number }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] }
  | { readonly s: string };

/** What an op's `emit` writes into: ONNX nodes, constants and fresh value names. */
export interface Emitter {
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attrs?: Record<string, OnnxAttr>,
    domain?: string,
  ): void;
  /** A constant initializer; returns its name. */
  constant(data: NumericArray, dtype: DType, dims: readonly number[]): string;
  /** A fresh intermediate value name. */
  tmp(hint: string): string;
}

/**
 * One op: how it infers its outputs, how it is written as ONNX, and its vector-Jacobian product,
 * side by side (../shared/STYLE.md, "Engine and autodiff").
 *
 * `vjp` receives one gradient per output (undefined where none flows) and `needs[i]`, whether
 * input i needs a gradient; it returns one gradient per input (undefined where none is needed or
 * none flows). Gradients may have a broadcast shape: the walker sums them back to the input's shape.
 */
export interface OpDef<A = Record<string, never>> {
  readonly name: string;
  infer(inputs: readonly Tensor[], attrs: A): OutputSpec[];
  emit(e: Emitter, node: Node<A>, inputs: readonly string[], outputs: readonly string[]): void;
  vjp?(grads: readonly (Tensor | undefined)[], node: Node<A>, needs: readonly boolean[]): (Tensor | undefined)[];
}

export class Node<A = unknown> {
  outputs: Tensor[] = [];
  constructor(
    readonly id: number,
    readonly op: OpDef<A>,
    readonly inputs: readonly Tensor[],
    readonly attrs: A,
  ) {}
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly tensors: Tensor[] = [];
  private readonly names = new Set<string>();

  /** A runtime input, e.g. token ids or a trainable prompt fed each step. */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    return this.add(name, dtype, shape, { kind: 'input' });
  }

  /** A frozen weight: data inline, or a location in an external file (never copied into the model). */
  weight(name: string, dtype: DType, shape: Shape, data: ExternalLocation | NumericArray): Tensor {
    return this.add(name, dtype, shape, { kind: 'weight', data });
  }

  constant(data: NumericArray, dtype: DType, shape: readonly number[]): Tensor {
    return this.add(this.freshName('const'), dtype, shape, { kind: 'constant', data });
  }

  /** Applies an op; returns its output tensors. */
  apply<A>(op: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor[] {
    for (const t of inputs)
      if (t.graph !== this) throw new Error(`${op.name}: input ${t.name} belongs to another graph`);
    const node = new Node<A>(this.nodes.length, op, inputs, attrs);
    const specs = op.infer(inputs, attrs);
    node.outputs = specs.map((s, index) =>
      this.add(this.freshName(op.name), s.dtype, s.shape, { kind: 'value', producer: node as Node, index }),
    );
    this.nodes.push(node as Node);
    return node.outputs;
  }

  private add(name: string, dtype: DType, shape: Shape, source: TensorSource): Tensor {
    if (this.names.has(name)) throw new Error(`Graph already has a tensor named ${name}`);
    this.names.add(name);
    const tensor = new Tensor(this, this.tensors.length, name, dtype, [...shape], source);
    this.tensors.push(tensor);
    return tensor;
  }

  private freshName(hint: string): string {
    return `${hint}_${this.tensors.length}`;
  }
}
