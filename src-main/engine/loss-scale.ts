/**
 * Dynamic loss scaling for float16 training (Micikevicius et al. 2018, "Mixed Precision
 * Training"; defaults as torch.cuda.amp.GradScaler): feed `scale` as the model's `loss_scale`
 * input; after each step report whether all gradients were finite. A non-finite step is skipped
 * and the scale halved; after `growthInterval` finite steps in a row it doubles.
 */
export class LossScaler {
  /** Finite steps since the scale last changed (saved in checkpoints). */
  goodSteps = 0;
  constructor(
    public scale = 2 ** 16,
    private readonly growthInterval = 2000,
    private readonly minScale = 1,
  ) {}

  /** Updates the scale; returns whether the optimizer should apply this step's gradients. */
  update(gradientsFinite: boolean): boolean {
    if (!gradientsFinite) {
      this.scale = Math.max(this.minScale, this.scale / 2);
      this.goodSteps = 0;
      return false;
    }
    if (++this.goodSteps >= this.growthInterval) {
      this.scale *= 2;
      this.goodSteps = 0;
    }
    return true;
  }
}

export function allFinite(arrays: readonly ArrayLike<number>[]): boolean {
  for (const a of arrays) for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}
