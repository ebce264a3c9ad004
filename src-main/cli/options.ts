/** Option parsers shared by the CLI's commands: each refuses a bad value naming what it must be. */
import { InvalidArgumentError } from 'commander';

import { UserError } from '../common/errors.js';
import {
  isSplit,
  isTaskType,
  PROVIDER_CHOICES,
  SPLITS,
  TASK_TYPES,
  type ProviderChoice,
  type Split,
  type TaskType,
} from '../common/vocabulary.js';

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

/** --split: one of the splits (absent stays absent). */
export function parseSplit(value: string): Split;
export function parseSplit(value: string | undefined): Split | undefined;
export function parseSplit(value: string | undefined): Split | undefined {
  if (value === undefined) return undefined;
  if (!isSplit(value))
    throw new UserError('INVALID_ARGUMENT', `--split must be one of ${SPLITS.join(', ')} (got "${value}").`);
  return value;
}

/** --task: one of the task types (absent stays absent). */
export function parseTaskType(value: string): TaskType;
export function parseTaskType(value: string | undefined): TaskType | undefined;
export function parseTaskType(value: string | undefined): TaskType | undefined {
  if (value === undefined) return undefined;
  if (!isTaskType(value))
    throw new UserError('INVALID_ARGUMENT', `Unknown --task "${value}"; use one of ${TASK_TYPES.join(', ')}.`);
  return value;
}
