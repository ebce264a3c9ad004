/**
 * The built preload (dist/preload/preload.cjs, what Electron loads) puts exactly one object into
 * the page, `window.clinprompt` with `invoke` and `on`, and nothing of Node or Electron: it runs
 * here in a bare V8 context (no process, no require but the one for `electron`), with a recording
 * stand-in for Electron's contextBridge and ipcRenderer, the two APIs it is given.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

import { describe, expect, it } from 'vitest';

import type { ClinPromptBridge } from '../../../src-main/ipc/contract.js';
import { DIST_DIR } from '../../support/paths.js';

function loadPreload() {
  const exposed: { key: string; api: unknown }[] = [];
  const required: string[] = [];
  const invoked: unknown[][] = [];
  const listeners = new Map<string, ((event: unknown, payload: unknown) => void)[]>();
  const electron = {
    contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.push({ key, api }) },
    ipcRenderer: {
      invoke: async (...args: unknown[]) => (invoked.push(args), { ok: true, value: 'from main' }),
      on: (channel: string, listener: (event: unknown, payload: unknown) => void) =>
        listeners.set(channel, [...(listeners.get(channel) ?? []), listener]),
      removeListener: (channel: string, listener: (event: unknown, payload: unknown) => void) =>
        listeners.set(
          channel,
          (listeners.get(channel) ?? []).filter((l) => l !== listener),
        ),
    },
  };
  const module = { exports: {} };
  const context = vm.createContext({
    module,
    exports: module.exports,
    require: (name: string) => {
      required.push(name);
      if (name !== 'electron') throw new Error(`the preload may not require ${name}`);
      return electron;
    },
  });
  const file = path.join(DIST_DIR, 'preload', 'preload.cjs');
  vm.runInContext(readFileSync(file, 'utf8'), context, { filename: file });
  return { exposed, required, invoked, listeners };
}

describe('the built preload', () => {
  it('exposes only window.clinprompt with invoke and on, and requires nothing but electron', () => {
    const { exposed, required } = loadPreload();
    expect(required).toEqual(['electron']);
    expect(exposed.map((e) => e.key)).toEqual(['clinprompt']);
    const api = exposed[0]!.api as Record<string, unknown>;
    expect(Object.keys(api).sort()).toEqual(['invoke', 'on']);
    expect(typeof api['invoke']).toBe('function');
    expect(typeof api['on']).toBe('function');
  });

  it('forwards only contract requests and events, and hands listeners the payload alone', async () => {
    const { exposed, invoked, listeners } = loadPreload();
    const bridge = exposed[0]!.api as ClinPromptBridge;

    expect(await bridge.invoke('fs.readFile', ['/etc/passwd'])).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT' },
    });
    expect(await bridge.invoke('app.getInfo', 'not-an-array' as unknown as unknown[])).toMatchObject({ ok: false });
    expect(invoked).toEqual([]);
    expect(await bridge.invoke('app.getInfo', [])).toEqual({ ok: true, value: 'from main' });
    expect(invoked).toEqual([['clinprompt:app.getInfo']]);

    expect(() => bridge.on('process.exit', () => undefined)).toThrow(/Unknown event/);
    const seen: unknown[][] = [];
    const off = bridge.on('store.onDidLock', (...args: unknown[]) => seen.push(args));
    const [forward] = listeners.get('clinprompt:store.onDidLock')!;
    // Electron passes its IpcRendererEvent (with `sender`) first: it must not reach the page.
    forward!({ sender: { send: () => undefined } }, { reason: 'request' });
    expect(seen).toEqual([[{ reason: 'request' }]]);
    off();
    expect(listeners.get('clinprompt:store.onDidLock')).toEqual([]);
  });
});
