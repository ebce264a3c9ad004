/**
 * Training losses, as used by multitask prompt distillation (Peng et al. 2026, arXiv 2604.06650;
 * see ../shared/DESIGN.md section 1):
 *   loss = CE(student) + lambda * (T^2 * KL(softmax(z_teacher / T) || softmax(z_student / T)) + MSE(h_student, h_teacher))
 *
 * Losses are computed in float32 (or float64) even when the model computes in float16.
 * All positional losses take a mask (1 = counted) and average over the counted positions.
 */
import type { DType } from './dtype.js';
import type { OpDef, Tensor } from './graph.js';
import { add, cast, div, equal, log, logSoftmax, max, mul, reduceSum, sub, where } from './ops.js';

function lossDtype(t: Tensor): DType {
  return t.dtype === 'float64' ? 'float64' : 'float32';
}

/** Sum of mask-weighted values over all positions divided by the number of counted positions (>= 1). */
function maskedMean(perPosition: Tensor, mask: Tensor): Tensor {
  const m = cast(mask, perPosition.dtype);
  const axes = [...Array(perPosition.rank).keys()];
  return div(reduceSum(mul(perPosition, m), axes), max(reduceSum(m, axes), 1));
}

/**
 * dlogits of TokenNll: (exp(logp) - onehot(target)) * g, as exp(logp) * g with -g scatter-added
 * at each position's target (ONNX ScatterElements, reduction add). The one-hot is never built: a
 * comparison over the vocabulary inside a Where cost a third of a prompt-tuning step (a [tokens,
 * vocab] Where, Sub and Equal), the scatter touches one value per position.
 */
const TokenNllGradOp: OpDef = {
  name: 'TokenNllGrad',
  infer: ([logp]) => [{ dtype: logp!.dtype, shape: logp!.shape }],
  emit: (e, _n, i, o) => {
    const [logp, targets, g] = i as [string, string, string];
    const lastAxis = e.constant(BigInt64Array.from([-1n]), 'int64', [1]);
    const [p, gColumn, scaled, index, minusG] = ['p', 'g', 'scaled', 'target', 'minus_g'].map((t) => e.tmp(t)) as [
      string,
      string,
      string,
      string,
      string,
    ];
    e.node('Exp', [logp], [p]);
    e.node('Unsqueeze', [g, lastAxis], [gColumn]);
    e.node('Mul', [p, gColumn], [scaled]);
    e.node('Unsqueeze', [targets, lastAxis], [index]);
    e.node('Neg', [gColumn], [minusG]);
    e.node('ScatterElements', [scaled, index, minusG], o, { axis: { i: -1 }, reduction: { s: 'add' } });
  },
};

/**
 * Per-position negative log-likelihood of `targets` under `logits` (ONNX LogSoftmax +
 * GatherElements). Output 1 (logp) is kept for the backward pass (TokenNllGrad).
 */
const TokenNllOp: OpDef = {
  name: 'TokenNll',
  infer: ([z]) => [
    { dtype: z!.dtype, shape: z!.shape.slice(0, -1) },
    { dtype: z!.dtype, shape: z!.shape },
  ],
  emit: (e, _n, i, o) => {
    const [idx, picked] = [e.tmp('target'), e.tmp('picked')];
    e.node('LogSoftmax', [i[0]!], [o[1]!], { axis: { i: -1 } });
    e.node('Unsqueeze', [i[1]!, e.constant(BigInt64Array.from([-1n]), 'int64', [1])], [idx]);
    e.node('GatherElements', [o[1]!, idx], [picked], { axis: { i: -1 } });
    const negPicked = e.tmp('neg');
    e.node('Neg', [picked], [negPicked]);
    e.node('Squeeze', [negPicked, e.constant(BigInt64Array.from([-1n]), 'int64', [1])], [o[0]!]);
  },
  vjp: ([g], n, needs) => {
    if (!g || !needs[0]) return [undefined, undefined];
    return [g.graph.apply(TokenNllGradOp, [n.outputs[1]!, n.inputs[1]!, g], {})[0]!, undefined];
  },
};

/**
 * Token cross-entropy averaged over the masked target positions.
 * logits [..., V]; targets [...] int64 (negative ids, e.g. HF's -100, count as 0 and must be masked);
 * mask [...] (1 where the position is a target).
 */
export function tokenCrossEntropy(logits: Tensor, targets: Tensor, mask: Tensor): Tensor {
  const z = cast(logits, lossDtype(logits));
  const safeTargets = max(targets, 0);
  const nll = z.graph.apply(TokenNllOp, [z, safeTargets], {})[0]!;
  return maskedMean(nll, mask);
}

/**
 * T^2 * KL(q || softmax(z / T)) averaged over masked positions, where q are the given teacher
 * probabilities (already softmax(z_teacher / T)). Zero teacher probabilities contribute nothing.
 */
export function distillationKl(studentLogits: Tensor, teacherProbs: Tensor, mask: Tensor, temperature = 1): Tensor {
  const dtype = lossDtype(studentLogits);
  const z = cast(studentLogits, dtype);
  const q = cast(teacherProbs, dtype);
  const logp = logSoftmax(temperature === 1 ? z : div(z, temperature), -1);
  const zero = equal(q, 0);
  // 0 log 0 = 0; log sees 1 there, so neither value nor gradient is NaN
  const qLogQ = where(zero, 0, mul(q, log(where(zero, 1, q))));
  const kl = reduceSum(sub(qLogQ, mul(q, logp)), [-1]);
  const loss = maskedMean(kl, mask);
  return temperature === 1 ? loss : mul(loss, temperature * temperature);
}

/** Mean squared error against given hidden states over masked positions: hidden [..., D], mask [...]. */
export function hiddenMse(hidden: Tensor, target: Tensor, mask: Tensor): Tensor {
  const dtype = lossDtype(hidden);
  const d = sub(cast(hidden, dtype), cast(target, dtype));
  const perPosition = reduceSum(mul(d, d), [-1]);
  const width = hidden.shape.at(-1);
  if (typeof width !== 'number') throw new Error(`hiddenMse: ${hidden} needs a known last dim`);
  return div(maskedMean(perPosition, mask), width);
}

/** sum_k weight_k * loss_k. */
export function weightedSum(terms: readonly { readonly loss: Tensor; readonly weight: number }[]): Tensor {
  if (terms.length === 0) throw new Error('weightedSum: needs at least one term');
  const scaled = terms.map(({ loss, weight }) => (weight === 1 ? loss : mul(loss, weight)));
  return scaled.slice(1).reduce((acc, t) => add(acc, t), scaled[0]!);
}
