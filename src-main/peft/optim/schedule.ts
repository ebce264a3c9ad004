/**
 * Learning rate of optimizer step `step` (1-based) of `total`: linear warm-up to the peak over the
 * first `warmup` steps, then linear or cosine decay towards 0 (the step after the last would reach
 * it), or constant; as transformers' get_linear/cosine_schedule_with_warmup, without their
 * zero-rate first step.
 */
export type Schedule = 'linear' | 'cosine' | 'constant';

export function learningRate(step: number, total: number, peak: number, warmup: number, schedule: Schedule): number {
  if (warmup > 0 && step <= warmup) return (peak * step) / warmup;
  if (schedule === 'constant' || total <= warmup) return peak;
  const progress = Math.min(1, (step - warmup - 1) / (total - warmup));
  return schedule === 'linear' ? peak * (1 - progress) : peak * 0.5 * (1 + Math.cos(Math.PI * progress));
}
