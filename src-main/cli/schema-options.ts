/**
 * CLI flags made from a settings schema (peft's method and trainer configs), so the flags, their
 * help text and their checks come from the one schema the app's forms use too: `promptLength`
 * becomes `--prompt-length <n>` with the schema's description as help and its default shown.
 */
import type { Command } from 'commander';
import type { z } from 'zod';

import { UserError } from '../common/errors.js';

type Kind = 'number' | 'string' | 'boolean' | 'enum' | 'list';

interface Field {
  readonly key: string;
  readonly flag: string;
  readonly kind: Kind;
  readonly choices?: readonly string[];
  readonly description: string;
}

interface ZodInternals {
  readonly _zod: {
    readonly def: {
      readonly type: string;
      readonly innerType?: ZodInternals;
      readonly entries?: Record<string, string>;
      readonly element?: ZodInternals;
      readonly defaultValue?: unknown;
    };
  };
  readonly description?: string;
}

export const flagOf = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function fields(schema: z.ZodObject): Field[] {
  return Object.entries(schema.shape).map(([key, raw]) => {
    let t = raw as unknown as ZodInternals;
    let fallback: unknown;
    while (t._zod.def.type === 'default' || t._zod.def.type === 'optional') {
      if (t._zod.def.type === 'default') fallback = t._zod.def.defaultValue;
      t = t._zod.def.innerType!;
    }
    const type = t._zod.def.type;
    const element = t._zod.def.element?._zod.def;
    const kind: Kind =
      type === 'number'
        ? 'number'
        : type === 'boolean'
          ? 'boolean'
          : type === 'enum'
            ? 'enum'
            : type === 'array'
              ? 'list'
              : 'string';
    const choices =
      type === 'enum' ? Object.keys(t._zod.def.entries!) : element?.entries ? Object.keys(element.entries) : undefined;
    const help = (raw as unknown as ZodInternals).description ?? key;
    const shown =
      fallback === undefined ? '' : ` (default ${Array.isArray(fallback) ? fallback.join(',') : String(fallback)})`;
    return { key, flag: flagOf(key), kind, ...(choices && { choices }), description: `${help}${shown}` };
  });
}

/** Adds one flag per schema field to a command (a field another schema already added keeps its flag). */
export function addSchemaOptions(command: Command, schema: z.ZodObject, skip: readonly string[] = []): Command {
  for (const f of fields(schema)) {
    if (skip.includes(f.key) || command.options.some((o) => o.long === f.flag)) continue;
    const value =
      f.kind === 'boolean' ? '' : f.kind === 'list' ? ' <a,b,...>' : f.kind === 'number' ? ' <n>' : ' <value>';
    const choices = f.choices ? ` [${f.choices.join(', ')}]` : '';
    command.option(`${f.flag}${value}`, `${f.description}${choices}`);
  }
  return command;
}

/** The settings a user gave as flags (strings turned into the schema's types), ready for schema.parse. */
export function schemaValues(schema: z.ZodObject, flags: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields(schema)) {
    const v = flags[f.key];
    if (v === undefined) continue;
    if (f.kind === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n))
        throw new UserError('INVALID_ARGUMENT', `${f.flag} must be a number (got "${String(v)}").`);
      out[f.key] = n;
    } else if (f.kind === 'list')
      out[f.key] = String(v)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else out[f.key] = v;
  }
  return out;
}

/** Parses settings with the schema; a bad value is refused naming its flag. */
export function parseSchemaFlags<S extends z.ZodType>(
  schema: S,
  values: Record<string, unknown>,
  what: string,
): z.infer<S> {
  const parsed = schema.safeParse(values);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const key = issue.path[0];
  throw new UserError(
    'INVALID_ARGUMENT',
    `${what}: ${typeof key === 'string' ? `${flagOf(key)}: ` : ''}${issue.message}`,
  );
}
