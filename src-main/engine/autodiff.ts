/**
 * Reverse-mode differentiation over the traced graph (the walker). It does the generic chores
 * once, as tinygrad's gradient.py does: it visits only nodes that lie on a path from a trained
 * tensor to the loss, in reverse topological order; accumulates the gradients of tensors used more
 * than once (fan-out); and sums broadcast gradients back to their input's shape. Each op's own
 * rule lives in its table entry (ops.ts, losses.ts).
 *
 * Only tensors that depend on something in `wrt` ask for gradients, so when only a prompt trains
 * no weight gradient is ever built.
 */
import type { Dim } from './dtype.js';
import { isFloat, shapeToString } from './dtype.js';
import type { Node, Tensor } from './graph.js';
import { add, reduceSum, reshapeLike, scalar } from './ops.js';

/** Gradients of `loss` with respect to each tensor in `wrt` (zeros-free: throws if none flows). */
export function gradients(loss: Tensor, wrt: readonly Tensor[], seed?: Tensor): Tensor[] {
  const graph = loss.graph;
  const wrtIds = new Set(wrt.map((t) => t.id));
  for (const t of wrt) if (!isFloat(t.dtype)) throw new Error(`Cannot differentiate with respect to ${t}`);

  // Forward: which tensors depend on a trained tensor.
  const dependsOnWrt = new Set<number>(wrtIds);
  const nodes = graph.nodes;
  for (const node of nodes)
    if (node.inputs.some((t) => dependsOnWrt.has(t.id))) for (const o of node.outputs) dependsOnWrt.add(o.id);
  if (!dependsOnWrt.has(loss.id)) throw new Error(`${loss.name} does not depend on any of ${wrt.map((t) => t.name)}`);

  // Backward: which nodes lead to the loss. Only nodes created before the walk started are visited.
  const leadsToLoss = new Set<number>([loss.id]);
  const onPath: Node[] = [];
  const end = nodes.length;
  for (let k = end - 1; k >= 0; k--) {
    const node = nodes[k]!;
    if (!node.outputs.some((o) => leadsToLoss.has(o.id))) continue;
    if (!node.inputs.some((t) => dependsOnWrt.has(t.id))) continue;
    for (const t of node.inputs) leadsToLoss.add(t.id);
    onPath.push(node);
  }

  const grads = new Map<number, Tensor>();
  grads.set(loss.id, seed ?? scalar(loss, 1));
  for (const node of onPath) {
    const outGrads = node.outputs.map((o) => grads.get(o.id));
    if (outGrads.every((g) => !g)) continue;
    if (!node.op.vjp) throw new Error(`No gradient rule for op ${node.op.name} (needed for ${node.outputs[0]?.name})`);
    const needs = node.inputs.map((t) => dependsOnWrt.has(t.id) && isFloat(t.dtype));
    const inGrads = node.op.vjp(outGrads, node, needs);
    node.inputs.forEach((input, k) => {
      const g = inGrads[k];
      if (!g || !needs[k]) return;
      const fitted = unbroadcast(g, input);
      const prev = grads.get(input.id);
      grads.set(input.id, prev ? add(prev, fitted) : fitted);
    });
  }
  return wrt.map((t) => {
    const g = grads.get(t.id);
    if (!g) throw new Error(`No gradient flows from ${loss.name} to ${t.name}`);
    return g;
  });
}

/** Sums a gradient with a broadcast shape back to the shape of the tensor it belongs to. */
export function unbroadcast(g: Tensor, x: Tensor): Tensor {
  const lead = g.rank - x.rank;
  if (lead < 0) throw new Error(`Gradient ${g} has lower rank than ${x}`);
  const axes: number[] = [];
  for (let i = 0; i < lead; i++) axes.push(i);
  x.shape.forEach((d: Dim, i) => {
    const gd = g.shape[i + lead]!;
    if (d === 1 && gd !== 1) axes.push(i + lead);
    else if (typeof d === 'number' && typeof gd === 'number' && d !== gd)
      throw new Error(`Gradient shape ${shapeToString(g.shape)} does not fit ${x}`);
  });
  if (axes.length === 0) return g;
  const summed = reduceSum(g, axes, true);
  // Drop the leading axes (and fix up symbolic dims) by taking x's runtime shape.
  return lead > 0 ? reshapeLike(summed, x) : summed;
}
