import path from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  APP_ORIGIN,
  CONTENT_SECURITY_POLICY,
  isTrustedSender,
  resolveAppAsset,
  secureWebPreferences,
} from '../../../src-main/shell/security.js';

describe('isTrustedSender', () => {
  it("accepts only the app's own page in the top frame", () => {
    expect(isTrustedSender(`${APP_ORIGIN}/index.html`, true)).toBe(true);
    expect(isTrustedSender(`${APP_ORIGIN}/index.html`, false)).toBe(false);
    expect(isTrustedSender('https://example.org/', true)).toBe(false);
    expect(isTrustedSender('file:///etc/passwd', true)).toBe(false);
    expect(isTrustedSender('clinprompt://evil/index.html', true)).toBe(false);
    expect(isTrustedSender('not a url', true)).toBe(false);
    expect(isTrustedSender(undefined, true)).toBe(false);
  });
});

describe('resolveAppAsset', () => {
  const root = path.resolve('/opt/clinprompt/renderer');

  it('maps app URLs into the renderer folder', () => {
    expect(resolveAppAsset(root, `${APP_ORIGIN}/`)).toBe(path.join(root, 'index.html'));
    expect(resolveAppAsset(root, `${APP_ORIGIN}/assets/index.js`)).toBe(path.join(root, 'assets', 'index.js'));
  });

  it('never leaves the folder: dot segments are resolved inside it', () => {
    // The URL parser folds `..` and `%2e%2e` segments before we see the path, so they cannot climb.
    expect(resolveAppAsset(root, `${APP_ORIGIN}/../../etc/passwd`)).toBe(path.join(root, 'etc', 'passwd'));
    expect(resolveAppAsset(root, `${APP_ORIGIN}/%2e%2e/%2e%2e/etc/passwd`)).toBe(path.join(root, 'etc', 'passwd'));
  });

  it('refuses other hosts, encoded separators, NUL bytes and broken encodings', () => {
    expect(resolveAppAsset(root, `${APP_ORIGIN}/..%5c..%5cwindows`)).toBeUndefined();
    expect(resolveAppAsset(root, `${APP_ORIGIN}/a%00b`)).toBeUndefined();
    expect(resolveAppAsset(root, `${APP_ORIGIN}/%E0%A4%A`)).toBeUndefined();
    expect(resolveAppAsset(root, 'clinprompt://other/index.html')).toBeUndefined();
    expect(resolveAppAsset(root, 'https://app/index.html')).toBeUndefined();
  });
});

describe('window and content policy', () => {
  it('isolates the renderer', () => {
    const prefs = secureWebPreferences('/p/preload.cjs');
    expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
  });

  it('allows no inline script, eval, remote origin or network access', () => {
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    expect(CONTENT_SECURITY_POLICY).toContain("connect-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
  });
});
