/**
 * Percentile bootstrap confidence intervals (Efron & Tibshirani, "An Introduction to the
 * Bootstrap", 1993, ch. 13), resampling examples (documents for NER/RE) with replacement and
 * recomputing the corpus-level metric each time, as Koehn (EMNLP 2004) does for MT scores. A
 * fixed seed makes intervals reproducible.
 */
import { randomInt, seededRandom } from '../../common/random.js';

export interface ConfidenceInterval {
  readonly estimate: number;
  readonly low: number;
  readonly high: number;
  readonly confidence: number;
  readonly resamples: number;
}

export interface BootstrapOptions {
  readonly resamples?: number;
  readonly confidence?: number;
  readonly seed?: number;
}

/** Linear-interpolated quantile of sorted values (numpy's default "linear" method). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const a = sorted[lower] as number;
  const b = sorted[upper] as number;
  return a + (b - a) * (position - lower);
}

export function bootstrapCI<T>(
  items: readonly T[],
  metric: (sample: readonly T[]) => number,
  options: BootstrapOptions = {},
): ConfidenceInterval {
  const resamples = options.resamples ?? 1000;
  const confidence = options.confidence ?? 0.95;
  const random = seededRandom(options.seed ?? 13);
  const estimate = metric(items);
  if (items.length === 0) return { estimate, low: estimate, high: estimate, confidence, resamples: 0 };
  const values: number[] = [];
  const sample = new Array<T>(items.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < items.length; i++) sample[i] = items[randomInt(random, items.length)] as T;
    values.push(metric(sample));
  }
  values.sort((a, b) => a - b);
  const alpha = (1 - confidence) / 2;
  return { estimate, low: quantile(values, alpha), high: quantile(values, 1 - alpha), confidence, resamples };
}
