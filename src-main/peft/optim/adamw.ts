/**
 * AdamW (Loshchilov & Hutter 2019, arXiv 1711.05101) on the trainable tensors, as
 * torch.optim.AdamW computes it: bias-corrected moments, and weight decay decoupled from the
 * gradient (p -= lr * wd * p before the Adam update). Its state (the two moments and the step)
 * is plain Float32Arrays, saved in checkpoints.
 */
export interface AdamWSettings {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
}

export interface AdamWState {
  /** Updates applied so far (bias correction uses it). */
  step: number;
  readonly m: Map<string, Float32Array>;
  readonly v: Map<string, Float32Array>;
}

export function newAdamWState(shapes: ReadonlyMap<string, number>): AdamWState {
  const zeros = () => new Map([...shapes].map(([name, n]) => [name, new Float32Array(n)]));
  return { step: 0, m: zeros(), v: zeros() };
}

/**
 * One update of `param` in place with gradient `gradScale * grad` (the clipping factor is applied
 * here, in the same pass, instead of rewriting the gradient first).
 */
export function adamWUpdate(
  state: AdamWState,
  name: string,
  param: Float32Array,
  grad: Float32Array,
  lr: number,
  s: AdamWSettings,
  decay: boolean,
  gradScale = 1,
): void {
  const m = state.m.get(name)!;
  const v = state.v.get(name)!;
  const t = state.step;
  const c1 = 1 - s.beta1 ** t;
  const c2 = 1 - s.beta2 ** t;
  const stepSize = lr / c1;
  const sqrtC2 = Math.sqrt(c2);
  const shrink = decay ? 1 - lr * s.weightDecay : 1;
  const { beta1, beta2, epsilon } = s;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i]! * gradScale;
    const mi = (m[i] = beta1 * m[i]! + (1 - beta1) * g);
    const vi = (v[i] = beta2 * v[i]! + (1 - beta2) * g * g);
    param[i] = param[i]! * shrink - (stepSize * mi) / (Math.sqrt(vi) / sqrtC2 + epsilon);
  }
}

/** The global L2 norm of all gradients. */
export function globalNorm(grads: Iterable<Float32Array>): number {
  let sq = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
  return Math.sqrt(sq);
}
