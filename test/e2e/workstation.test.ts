import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { accessibilityProblems } from '../support/axe.js';
import type { RendererHarness } from '../support/renderer-harness.js';
import { e2eHome, openWizard, POLL } from '../support/wizard.js';

const PASSPHRASE = 'workstation test passphrase';

// The built wizard in Debian's Chromium, real services (worker threads, onnxruntime, SQLCipher)
// behind the IPC contract. Screenshots land in test-results/ as artifacts.
describe('wizard: workstation step', () => {
  const home = e2eHome();
  let app: RendererHarness;

  beforeEach(async () => {
    // The wizard sits behind the store's unlock: open it before the page loads.
    app = await openWizard(home.dir, PASSPHRASE);
  });
  afterEach(async () => app.close());

  it('shows the app info from the main process and lists the wizard steps', async () => {
    const { page } = app;
    await expect.poll(() => page.getByTestId('data-dir').textContent(), POLL).toBe(home.dir);
    await expect.poll(() => page.getByRole('button', { name: /Import notes/ }).isEnabled(), POLL).toBe(true);
    expect(await page.getByRole('button', { name: /Label examples/ }).isEnabled()).toBe(true);
    expect(await page.getByRole('button', { name: /Workstation/ }).getAttribute('aria-current')).toBe('step');
    await app.screenshot('workstation-initial');
    expect(await accessibilityProblems(page)).toEqual([]);
    expect(app.consoleErrors).toEqual([]);
  });

  it('runs the workstation check in a worker and shows progress, then results', async () => {
    const { page } = app;
    await page.getByRole('button', { name: 'Check this workstation' }).click();
    await expect
      .poll(() => page.locator('.job .phase').textContent(), POLL)
      .toMatch(/onnxruntime|Encrypted SQLite|Node\.js/);
    await app.screenshot('workstation-progress');
    await expect.poll(() => page.locator('.job .status').textContent(), POLL).toBe('succeeded');
    const rows = page.getByTestId('checks').locator('tbody tr');
    expect(await rows.count()).toBe(3);
    expect(await rows.allTextContents()).toEqual([
      expect.stringMatching(/^Node\.js runtimeOK/),
      expect.stringMatching(/^onnxruntimeOK.*cpu/),
      expect.stringMatching(/^Encrypted SQLite \(SQLCipher\)OK/),
    ]);
    await app.screenshot('workstation-done');
    expect(await accessibilityProblems(page)).toEqual([]);
    expect(app.consoleErrors).toEqual([]);
  });

  it('cancels a running check from the UI', async () => {
    const { page } = app;
    await page.getByRole('button', { name: 'Check this workstation' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => page.locator('.job .status').textContent(), POLL).toBe('cancelled');
    expect(await page.getByRole('button', { name: 'Check this workstation' }).isEnabled()).toBe(true);
    await app.screenshot('workstation-cancelled');
  });

  it('starts the demo ("try it") as a job with progress, and cancels it cleanly', async () => {
    const { page } = app;
    await expect.poll(() => page.getByTestId('data-dir').textContent(), POLL).toBe(home.dir);
    await page.getByRole('button', { name: 'Try it on a public task' }).click();
    const demo = page.locator('.try .job');
    await expect.poll(() => demo.locator('.phase').textContent(), POLL).toMatch(/^starting$|cells\//);
    await app.screenshot('workstation-try-it');
    await demo.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => demo.locator('.status').textContent(), POLL).toBe('cancelled');
    expect(await page.getByRole('button', { name: 'Try it on a public task' }).isEnabled()).toBe(true);
    expect(app.consoleErrors).toEqual([]);
  });

  // What the real preload exposes (window.clinprompt only, no Node) is tested on the built preload
  // itself: test/integration/shell/preload.test.ts. Here the page talks to the harness's bridge.
  it('refuses requests that are not in the contract and arguments the contract forbids', async () => {
    const { page } = app;
    const refused = await page.evaluate(() => window.clinprompt!.invoke('fs.readFile', ['/etc/passwd']));
    expect(refused).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    const badArgs = await page.evaluate(() =>
      window.clinprompt!.invoke('jobs.start', [{ kind: 'system-check', pauseMs: -1 }]),
    );
    expect(badArgs).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', field: 'pauseMs' } });
  });

  it('enforces the content security policy (no inline script)', async () => {
    const { page } = app;
    const ran = await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true';
      document.head.appendChild(s);
      return (window as unknown as { __inlineRan?: boolean }).__inlineRan === true;
    });
    expect(ran).toBe(false);
    expect(app.consoleErrors.some((e) => /Content Security Policy/.test(e))).toBe(true);
  });
});
