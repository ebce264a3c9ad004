/**
 * Electron main process: the thin shell. It creates one locked-down window, serves the renderer
 * on the app's own scheme, and wires the IPC contract to the same services the CLI uses. All
 * logic lives in plain modules (services, jobs, security.ts) that are tested under Node.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { app, BrowserWindow, dialog, ipcMain, protocol, session, type WebContents } from 'electron';

import { log } from '../common/log.js';
import { createDispatcher } from '../ipc/dispatcher.js';
import { IPC_PREFIX, REQUEST_NAMES, type EventSink } from '../ipc/contract.js';
import { createServices, type PathPicker, type Services } from '../services/index.js';
import { loadKeytar } from '../store/keys/keychain.js';
import { electronSafeStorage } from './safe-storage-key-wrapper.js';
import {
  APP_ORIGIN,
  APP_SCHEME,
  isTrustedSender,
  resolveAppAsset,
  secureWebPreferences,
  securityHeaders,
} from './security.js';
import { launchUtilityWorker } from './utility-transport.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/main/shell
const distRoot = path.resolve(here, '..', '..'); // dist
const rendererRoot = path.join(distRoot, 'renderer');
const preloadPath = path.join(distRoot, 'preload', 'preload.cjs');
const workerEntry = path.join(distRoot, 'main', 'jobs', 'worker-main.js');

// Must run before `ready`: the scheme behaves like https (secure context, CSP applies).
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: false, corsEnabled: false } },
]);
app.enableSandbox();

if (!app.requestSingleInstanceLock()) app.quit();

/** Serves dist/renderer on clinprompt://app/, refusing anything outside it. */
function serveRenderer(): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const file = resolveAppAsset(rendererRoot, request.url);
    if (!file) return new Response('Not found', { status: 404 });
    try {
      return new Response(await readFile(file), { headers: securityHeaders(file) });
    } catch {
      return new Response('Not found', { status: 404 });
    }
  });
}

/** Denies every permission (camera, notifications, geolocation...), navigation and new windows. */
function lockDown(): void {
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  app.on('web-contents-created', (_event, contents: WebContents) => {
    contents.on('will-navigate', (event) => event.preventDefault());
    contents.on('will-redirect', (event) => event.preventDefault());
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
}

/**
 * Once per process (ipcMain takes one handler per channel): every window's requests go to the same
 * dispatcher, and every event of the services goes to every open window.
 */
function wireIpc(services: Services): void {
  const dispatcher = createDispatcher(services.handlers);
  for (const name of REQUEST_NAMES) {
    ipcMain.handle(IPC_PREFIX + name, (event, ...args: unknown[]) => {
      const frame = event.senderFrame;
      const top = frame !== null && frame === event.sender.mainFrame;
      if (!isTrustedSender(frame?.url, top)) {
        log.warn('ipc refused: untrusted sender', { request: name });
        return { ok: false, error: { code: 'PERMISSION_DENIED', message: 'Request refused.' } };
      }
      return dispatcher.invoke(name, args);
    });
  }
  const send: EventSink = (name, payload) => {
    for (const window of BrowserWindow.getAllWindows())
      if (!window.isDestroyed()) window.webContents.send(IPC_PREFIX + name, payload);
  };
  services.subscribe(send);
}

/** Electron's open dialog, attached to the focused window. */
const pickPath: PathPicker = async ({ kind }) => {
  const options: Electron.OpenDialogOptions = { properties: [kind === 'file' ? 'openFile' : 'openDirectory'] };
  const parent = BrowserWindow.getFocusedWindow();
  const picked = parent ? await dialog.showOpenDialog(parent, options) : await dialog.showOpenDialog(options);
  return picked.canceled ? undefined : picked.filePaths[0];
};

async function createWindow(): Promise<void> {
  const window = new BrowserWindow({
    width: 1280,
    height: 860,
    minWidth: 960,
    minHeight: 640,
    title: 'ClinPrompt',
    show: false,
    webPreferences: { ...secureWebPreferences(preloadPath), devTools: !app.isPackaged },
  });
  window.once('ready-to-show', () => window.show());
  await window.loadURL(`${APP_ORIGIN}/index.html`);
}

app
  .whenReady()
  .then(async () => {
    lockDown();
    serveRenderer();
    // The store key goes to the OS keychain, else safeStorage, else a passphrase (store/README.md).
    const keychain = await loadKeytar().catch(() => undefined);
    const safeStorage = electronSafeStorage();
    const services = createServices({
      runtime: 'electron',
      launchWorker: () => launchUtilityWorker(workerEntry),
      store: { ...(keychain ? { keychain } : {}), ...(safeStorage ? { safeStorage } : {}) },
      pickPath,
    });
    app.on('before-quit', () => void services.dispose()); // locks the store: closes it, wipes the key
    app.on('window-all-closed', () => app.quit());
    wireIpc(services);
    await createWindow();
  })
  .catch((error: unknown) => {
    log.error('startup failed', { error });
    app.quit();
  });
