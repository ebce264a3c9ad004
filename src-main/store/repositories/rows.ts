/** Small helpers shared by the repositories: timestamps, JSON columns, id checks. */
import { UserError } from '../../common/errors.js';

export function nowIso(): string {
  return new Date().toISOString();
}

/** Serialises a value for a JSON column; refuses what JSON cannot hold instead of storing `null`. */
export function toJson(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined) throw new UserError('INVALID_ARGUMENT', `${what} is not JSON-serialisable.`);
  return text;
}

export function fromJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** A row id from `lastInsertRowid` (ids stay far below 2^53). */
export function rowId(id: number | bigint): number {
  return Number(id);
}
