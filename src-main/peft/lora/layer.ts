/**
 * LoRA (Hu et al. 2021, arXiv 2106.09685) on the backbone's linear layers, as PEFT's
 * tuners/lora/layer.py computes it: y = W x + scaling * B A dropout(x), with A (r, in) and
 * B (out, r) (PEFT's `lora_A.weight`, `lora_B.weight`) and scaling = alpha / r (alpha / sqrt(r)
 * with rsLoRA). Plugged into the one forward (backbone/llama/model.ts) through its linear hook
 * (unmerged) or its weight source (merged: W + scaling B A, folded once by onnxruntime).
 */
import type { Graph, Tensor } from '../../engine/index.js';
import { add, cast, matmul, mul } from '../../engine/index.js';
import type { GraphAdapter } from '../../backbone/generate/inference-graph.js';
import type { LinearHook, WeightSource } from '../../backbone/llama/model.js';

/** One adapted projection. */
export interface LoraWeights {
  readonly a: Float32Array; // lora_A (r, in)
  readonly b: Float32Array; // lora_B (out, r)
  readonly rank: number;
  readonly scaling: number;
}

/** LoRA adapters keyed by module name, e.g. "model.layers.0.self_attn.q_proj". */
export type LoraSet = ReadonlyMap<string, LoraWeights>;

export function loraScaling(alpha: number, rank: number, rslora: boolean): number {
  return rslora ? alpha / Math.sqrt(rank) : alpha / rank;
}

/** The delta scaling * (x A^T) B^T: two thin products instead of materialising B A. */
export function loraDelta(x: Tensor, a: Tensor, b: Tensor, scaling: number): Tensor {
  return matmul(matmul(x, a, { transB: true }), b, { transB: true, alpha: scaling });
}

/** Unmerged LoRA with fixed weights (inference): A and B are inline constants. */
export function loraHook(g: Graph, set: LoraSet): LinearHook {
  return (module, x, y) => {
    const l = set.get(module);
    if (!l) return y;
    const [out, inn] = [y.shape.at(-1) as number, x.shape.at(-1) as number];
    const a = cast(g.constant(l.a, 'float32', [l.rank, inn]), x.dtype);
    const b = cast(g.constant(l.b, 'float32', [out, l.rank]), x.dtype);
    return add(y, loraDelta(x, a, b, l.scaling));
  };
}

/** Merged LoRA (inference): W' = W + scaling * B A for each adapted module. */
export function mergedLoraWeights(g: Graph, base: WeightSource, set: LoraSet): WeightSource {
  return (name) => {
    const w = base(name);
    const l = set.get(name.replace(/\.weight$/, ''));
    if (!l || !name.endsWith('.weight')) return w;
    const [out, inn] = w.shape as [number, number];
    const a = g.constant(l.a, 'float32', [l.rank, inn]);
    const b = g.constant(l.b, 'float32', [out, l.rank]);
    return add(w, cast(mul(matmul(b, a), l.scaling), w.dtype));
  };
}

/** The inference adapter for a LoRA set, merged into the weights or kept beside them. */
export function loraGraphAdapter(set: LoraSet, merged = false): GraphAdapter {
  return merged ? { weights: (g, base) => mergedLoraWeights(g, base, set) } : { hook: (g) => loraHook(g, set) };
}
