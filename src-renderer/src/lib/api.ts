/**
 * The typed API over the preload's bridge (`window.clinprompt`). Requests resolve with their
 * result or reject with an `ApiError` carrying the contract's error code and a message meant for
 * the user.
 */
import {
  REQUEST_NAMES,
  type ClinPromptApi,
  type ClinPromptBridge,
  type EventName,
  type EventPayloads,
  type SerializedError,
} from '../../../src-main/ipc/contract.js';

declare global {
  interface Window {
    readonly clinprompt?: ClinPromptBridge;
  }
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: SerializedError['code'];
  /** The setting that was wrong, for the form to name (lib/fields.ts). */
  readonly field: string | undefined;
  constructor(error: SerializedError) {
    super(error.message);
    this.code = error.code;
    this.field = error.field;
  }
}

export function createApi(bridge: ClinPromptBridge): ClinPromptApi {
  const api: Record<string, unknown> = {
    on<E extends EventName>(name: E, listener: (payload: EventPayloads[E]) => void) {
      return bridge.on(name, (payload) => listener(payload as EventPayloads[E]));
    },
  };
  for (const name of REQUEST_NAMES) {
    api[name] = async (...args: unknown[]) => {
      const envelope = await bridge.invoke(name, args);
      if (!envelope.ok) throw new ApiError(envelope.error);
      return envelope.value;
    };
  }
  return api as ClinPromptApi;
}

function connect(): ClinPromptApi {
  if (!window.clinprompt) throw new Error('ClinPrompt bridge missing: the page must run inside the app.');
  return createApi(window.clinprompt);
}

export const api: ClinPromptApi = connect();
