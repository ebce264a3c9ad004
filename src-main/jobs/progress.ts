import type { JobKind, JobProgress } from '../ipc/contract.js';

export interface StepReport {
  readonly phase: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly loss?: number;
  /** Tokens processed in this step, for the tokens/s figure. */
  readonly tokens?: number;
  /** The dev metric, when this report is an evaluation. */
  readonly metric?: number;
}

/**
 * Builds progress events with an ETA from the observed step rate (an exponential moving average,
 * so one slow step does not make the estimate jump) and tokens per second.
 */
export class ProgressTracker {
  #lastTime: number | undefined;
  #lastStep = 0;
  #secondsPerStep: number | undefined;
  #tokensPerSecond: number | undefined;

  constructor(
    private readonly jobId: string,
    private readonly kind: JobKind,
    private readonly now: () => number = () => performance.now(),
  ) {}

  report(step: StepReport): JobProgress {
    const time = this.now();
    if (this.#lastTime !== undefined && step.step > this.#lastStep) {
      const seconds = (time - this.#lastTime) / 1000;
      const perStep = seconds / (step.step - this.#lastStep);
      this.#secondsPerStep = this.#secondsPerStep === undefined ? perStep : 0.7 * this.#secondsPerStep + 0.3 * perStep;
      if (step.tokens !== undefined && seconds > 0) this.#tokensPerSecond = step.tokens / seconds;
    }
    this.#lastTime = time;
    this.#lastStep = step.step;
    const remaining = Math.max(0, step.totalSteps - step.step);
    return {
      jobId: this.jobId,
      kind: this.kind,
      phase: step.phase,
      step: step.step,
      totalSteps: step.totalSteps,
      ...(step.loss !== undefined && { loss: step.loss }),
      ...(step.metric !== undefined && { metric: step.metric }),
      ...(this.#tokensPerSecond !== undefined && { tokensPerSecond: this.#tokensPerSecond }),
      ...(this.#secondsPerStep !== undefined && { etaSeconds: remaining * this.#secondsPerStep }),
    };
  }
}
