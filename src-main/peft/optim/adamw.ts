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

/** Per-step scalars of the AdamW update, the same for every tensor but the weight-decay shrink. */
export interface AdamWStepScalars {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** lr / (1 - beta1^t) */
  readonly stepSize: number;
  /** sqrt(1 - beta2^t) */
  readonly sqrtC2: number;
  /** 1 - lr * weightDecay for decayed tensors, else 1 */
  readonly shrink: number;
  /** The clipping factor, applied to the gradient in the same pass. */
  readonly gradScale: number;
}

export function adamWScalars(
  step: number,
  lr: number,
  s: AdamWSettings,
  decay: boolean,
  gradScale: number,
): AdamWStepScalars {
  return {
    beta1: s.beta1,
    beta2: s.beta2,
    epsilon: s.epsilon,
    stepSize: lr / (1 - s.beta1 ** step),
    sqrtC2: Math.sqrt(1 - s.beta2 ** step),
    shrink: decay ? 1 - lr * s.weightDecay : 1,
    gradScale,
  };
}

/** The AdamW update of one tensor in place: the loop the main thread and optimizer threads share. */
export function adamWKernel(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  k: AdamWStepScalars,
): void {
  const { beta1, beta2, epsilon, stepSize, sqrtC2, shrink, gradScale } = k;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i]! * gradScale;
    const mi = (m[i] = beta1 * m[i]! + (1 - beta1) * g);
    const vi = (v[i] = beta2 * v[i]! + (1 - beta2) * g * g);
    param[i] = param[i]! * shrink - (stepSize * mi) / (Math.sqrt(vi) / sqrtC2 + epsilon);
  }
}

/**
 * Sum of squares of one gradient, accumulated in float64. The global norm (optimizer.ts) adds these
 * per-tensor sums in the trainables' order, wherever each was summed.
 */
export function sumOfSquares(g: Float32Array): number {
  let sq = 0;
  for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
  return sq;
}
