/** Option parsers shared by the CLI's commands: each refuses a bad value naming what it must be. */
import { InvalidArgumentError } from 'commander';

import { PROVIDER_CHOICES, type ProviderChoice } from '../common/vocabulary.js';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number > 0');
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number >= 0');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be an integer >= 0');
  return n;
}

export const PROVIDERS: readonly ProviderChoice[] = PROVIDER_CHOICES;

export function provider(value: string): ProviderChoice {
  if (!(PROVIDERS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`must be one of ${PROVIDERS.join(', ')}`);
  return value as ProviderChoice;
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
