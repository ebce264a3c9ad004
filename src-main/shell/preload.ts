/**
 * The preload: exposes the IPC contract's bridge, and nothing else, as `window.clinprompt`.
 * Bundled to one CommonJS file (sandboxed preloads cannot load modules). It forwards only known
 * request and event names; main validates the arguments again and checks the sender.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

import { IPC_PREFIX, isEventName, isRequestName, type ClinPromptBridge, type Envelope } from '../ipc/contract.js';

const bridge: ClinPromptBridge = {
  invoke(name, args) {
    if (!isRequestName(name) || !Array.isArray(args)) {
      const refused: Envelope<never> = { ok: false, error: { code: 'INVALID_ARGUMENT', message: 'Unknown request.' } };
      return Promise.resolve(refused);
    }
    return ipcRenderer.invoke(IPC_PREFIX + name, ...args) as Promise<Envelope<unknown>>;
  },
  on(name, listener) {
    if (!isEventName(name) || typeof listener !== 'function') throw new TypeError('Unknown event.');
    const channel = IPC_PREFIX + name;
    const forward = (_event: IpcRendererEvent, payload: unknown) => listener(payload);
    ipcRenderer.on(channel, forward);
    return () => void ipcRenderer.removeListener(channel, forward);
  },
};

contextBridge.exposeInMainWorld('clinprompt', bridge);
