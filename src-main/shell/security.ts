/**
 * Security policy of the desktop shell, as plain functions so that they are tested under Node
 * (Electron cannot run on CI machines). main.ts applies them.
 */
import path from 'node:path';

/** The renderer is served from this privileged custom scheme, never from file:// or http. */
export const APP_SCHEME = 'clinprompt';
export const APP_ORIGIN = `${APP_SCHEME}://app`;

/**
 * Strict CSP: only the app's own scripts and styles, no inline script, no network at all
 * (the app is offline by design; everything goes through the IPC bridge), no frames, no plugins.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Settings every BrowserWindow gets. */
export function secureWebPreferences(preloadPath: string) {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    spellcheck: false,
    navigateOnDragDrop: false,
  } as const;
}

/**
 * An IPC message is trusted only when it comes from the app's own page in the top frame
 * (not from an iframe, not from a page the window was somehow navigated to).
 */
export function isTrustedSender(frameUrl: string | undefined, isTopFrame: boolean): boolean {
  if (!isTopFrame || frameUrl === undefined) return false;
  try {
    const url = new URL(frameUrl);
    return `${url.protocol}//${url.host}` === APP_ORIGIN;
  } catch {
    return false;
  }
}

/**
 * Maps a request on the app scheme to a file inside the renderer folder, or undefined when the
 * request points elsewhere (other host, path traversal, encoded separators).
 */
export function resolveAppAsset(rendererRoot: string, requestUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return undefined;
  }
  if (`${url.protocol}//${url.host}` !== APP_ORIGIN) return undefined;
  let relative: string;
  try {
    relative = decodeURIComponent(url.pathname);
  } catch {
    return undefined;
  }
  if (relative.includes('\0') || relative.includes('\\')) return undefined;
  if (relative === '/' || relative === '') relative = '/index.html';
  const root = path.resolve(rendererRoot);
  const file = path.resolve(root, '.' + relative);
  return file.startsWith(root + path.sep) ? file : undefined;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Headers for every asset the app serves to its own window. */
export function securityHeaders(file: string): Record<string, string> {
  return {
    'Content-Type': contentTypeOf(file),
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Referrer-Policy': 'no-referrer',
  };
}
