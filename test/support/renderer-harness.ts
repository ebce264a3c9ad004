/**
 * Serves the built renderer (dist/renderer) to Debian's Chromium, driven by playwright-core, with
 * the REAL main-process services behind the IPC contract. The page gets the same
 * `window.clinprompt` bridge the preload exposes, backed by the same validating dispatcher the
 * Electron shell uses; only the transport differs (a playwright binding instead of ipcRenderer).
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';

import { createDispatcher } from '../../src-main/ipc/dispatcher.js';
import type { EventSink } from '../../src-main/ipc/contract.js';
import { createServices, type ServiceOptions, type Services } from '../../src-main/services/index.js';
import { APP_ORIGIN, resolveAppAsset, securityHeaders } from '../../src-main/shell/security.js';
import { DIST_DIR, REPO_ROOT } from './paths.js';

export const CHROMIUM_PATH = process.env['CLINPROMPT_CHROMIUM'] ?? '/usr/bin/chromium';
export const ARTIFACTS_DIR = path.join(REPO_ROOT, 'test-results');

/** Runs in the page before any app script: the stand-in for the preload's contextBridge. */
const BRIDGE_SCRIPT = `(() => {
  const listeners = new Map();
  window.__clinpromptEmit = (name, payload) => { for (const l of listeners.get(name) ?? []) l(payload); };
  Object.defineProperty(window, 'clinprompt', { value: Object.freeze({
    invoke: (name, args) => window.__clinpromptInvoke(name, args),
    on: (name, listener) => {
      if (!listeners.has(name)) listeners.set(name, new Set());
      listeners.get(name).add(listener);
      return () => listeners.get(name).delete(listener);
    },
  }) });
})();`;

export interface RendererHarness {
  readonly page: Page;
  readonly services: Services;
  /** Console errors and CSP violations seen in the page. */
  readonly consoleErrors: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Serves a built page's folder as the app's scheme does, with its CSP and other headers. */
export function serveRenderer(root: string): Promise<Server> {
  const server = createServer((request, response) => {
    const file = resolveAppAsset(root, `${APP_ORIGIN}${request.url ?? '/'}`);
    if (!file) return void response.writeHead(404).end();
    readFile(file).then(
      (body) => response.writeHead(200, securityHeaders(file)).end(body),
      () => response.writeHead(404).end(),
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let browser: Browser | undefined;

/** One Chromium per test file (closed by `closeBrowser`). */
export async function sharedBrowser(): Promise<Browser> {
  browser ??= await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  return browser;
}

export async function closeBrowser(): Promise<void> {
  await browser?.close();
  browser = undefined;
}

export interface RendererOptions extends Pick<ServiceOptions, 'store' | 'pickPath'> {
  readonly dataDir: string;
  /**
   * Sets the store up with this passphrase (or unlocks the one already there) before the page
   * loads, for tests of the wizard itself; without it the page starts at set-up or unlock.
   */
  readonly openStoreWith?: string;
}

/**
 * `store` configures the encrypted store as a test needs it (a short auto-lock, a cheaper scrypt
 * cost, keychain or safeStorage ports); `pickPath` stands in for the desktop's file chooser.
 */
export async function openRenderer(options: RendererOptions): Promise<RendererHarness> {
  const server = await serveRenderer(path.join(DIST_DIR, 'renderer'));
  const { openStoreWith, ...serviceOptions } = options;
  const services = createServices(serviceOptions);
  if (openStoreWith !== undefined) {
    const { state } = await services.store.status();
    if (state === 'absent') await services.store.setUp({ passphrase: openStoreWith });
    else await services.store.unlock({ passphrase: openStoreWith });
  }
  const dispatcher = createDispatcher(services.handlers);
  const context = await (await sharedBrowser()).newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (m: ConsoleMessage) => void (m.type() === 'error' && consoleErrors.push(m.text())));
  page.on('pageerror', (e) => consoleErrors.push(e.message));

  await page.exposeBinding('__clinpromptInvoke', (_source, name: unknown, args: unknown) =>
    dispatcher.invoke(name, args),
  );
  await page.addInitScript(BRIDGE_SCRIPT);
  const emit: EventSink = (name, payload) =>
    void page
      .evaluate(
        ([n, p]) => (window as unknown as { __clinpromptEmit: (n: string, p: unknown) => void }).__clinpromptEmit(n, p),
        [name, payload] as const,
      )
      .catch(() => undefined);
  const unsubscribe = services.subscribe(emit);

  const { port } = server.address() as AddressInfo;
  await page.goto(`http://127.0.0.1:${port}/index.html`);

  return {
    page,
    services,
    consoleErrors,
    async screenshot(name) {
      const file = path.join(ARTIFACTS_DIR, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      unsubscribe();
      await services.dispose();
      await context.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
