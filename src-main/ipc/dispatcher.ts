/**
 * Turns the typed request handlers into one `invoke(name, args)` entry point that checks the
 * request name and validates the arguments against the contract before any handler runs. The
 * Electron shell and the browser test harness both call this, so both get the same checks.
 */
import { serializeError, UserError } from '../common/errors.js';
import { log } from '../common/log.js';
import type { z } from 'zod';

import { isRequestName, requests, type Envelope, type RequestHandlers } from './contract.js';

export interface Dispatcher {
  invoke(name: unknown, args: unknown): Promise<Envelope<unknown>>;
}

export function createDispatcher(handlers: RequestHandlers): Dispatcher {
  return {
    async invoke(name, args) {
      try {
        if (!isRequestName(name)) {
          throw new UserError('INVALID_ARGUMENT', `Unknown request "${String(name).slice(0, 80)}".`);
        }
        const parsed = requests[name].args.safeParse(args);
        if (!parsed.success) throw invalidArguments(name, parsed.error.issues);
        const handler = handlers[name] as (...a: unknown[]) => Promise<unknown>;
        return { ok: true, value: await handler(...(parsed.data as unknown[])) };
      } catch (error) {
        const serialized = serializeError(error);
        if (serialized.code === 'INTERNAL') log.error('request failed', { request: String(name), error });
        return { ok: false, error: serialized };
      }
    },
  };
}

/**
 * The first problem the schema found, as the setting it concerns (a form field: `name` of
 * `[{ name }]`) and the schema's own message, which the app shows under its label. Only the
 * schema's words, never the offending value. Calls that are not a form (wrong arity) name no field.
 */
function invalidArguments(request: string, issues: readonly z.core.$ZodIssue[]): UserError {
  const [first] = issues;
  const field = first?.path.slice(1).join('.');
  if (!first || !field) {
    const problems = issues.map((i) => i.message).join('; ');
    return new UserError('INVALID_ARGUMENT', `Invalid arguments for ${request}: ${problems}.`);
  }
  const message = first.message.charAt(0).toUpperCase() + first.message.slice(1);
  return new UserError('INVALID_ARGUMENT', `${message}.`, { field });
}
