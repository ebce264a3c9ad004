/**
 * Turns the typed request handlers into one `invoke(name, args)` entry point that checks the
 * request name and validates the arguments against the contract before any handler runs. The
 * Electron shell and the browser test harness both call this, so both get the same checks.
 */
import { serializeError, UserError } from '../common/errors.js';
import { log } from '../common/log.js';
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
        if (!parsed.success) {
          // Only the paths and messages of the schema, never the offending values.
          const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`);
          throw new UserError('INVALID_ARGUMENT', `Invalid arguments for ${name}: ${problems.join('; ')}.`);
        }
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
