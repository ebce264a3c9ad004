/**
 * What the wizard's e2e tests share on top of the renderer harness: how long a check waits, a
 * cheap store, a temporary home per test file (the shared browser closed after it), and the moves
 * most walks make: setting the store up on the first-run screen and choosing a model folder.
 */
import path from 'node:path';

import type { Page } from 'playwright-core';
import { afterAll, expect } from 'vitest';

import { closeBrowser, openRenderer, type RendererHarness, type RendererOptions } from './renderer-harness.js';
import { makeTempDir } from './temp.js';

/** Generous: test runs may share two cores, and a Chromium page then answers slowly. */
export const POLL = { timeout: 30_000 };

/** scrypt at the lowest cost the keyring accepts: the default cost is the store tests' concern. */
export const FAST_SCRYPT = { N: 2 ** 14, r: 8, p: 1 } as const;

/** A temporary folder for one test file, removed after its tests, with the shared browser closed. */
export function e2eHome(): ReturnType<typeof makeTempDir> {
  const home = makeTempDir();
  afterAll(async () => {
    await closeBrowser();
    home.cleanup();
  });
  return home;
}

/**
 * The wizard on a store in `dataDir` with the cheap scrypt cost: set up (or unlocked) with
 * `passphrase` before the page loads, or at the first-run or unlock screen without one.
 */
export function openWizard(
  dataDir: string,
  passphrase?: string,
  options: Omit<RendererOptions, 'dataDir' | 'openStoreWith'> = {},
): Promise<RendererHarness> {
  return openRenderer({
    dataDir,
    ...options,
    store: { scrypt: FAST_SCRYPT, ...options.store },
    ...(passphrase !== undefined && { openStoreWith: passphrase }),
  });
}

/** The text of the element that has focus: a step's heading once the wizard has moved to it. */
export function focusedText(page: Page): Promise<string> {
  return page.evaluate(() => document.activeElement?.textContent ?? '');
}

/** The first-run screen: the passphrase twice, then set up, and wait until the store is open. */
export async function setUpStoreInPage(page: Page, passphrase: string): Promise<void> {
  await page.getByLabel('Passphrase', { exact: true }).fill(passphrase);
  await page.getByLabel('Passphrase again').fill(passphrase);
  await page.getByRole('button', { name: 'Set up encrypted store' }).click();
  await expect.poll(() => page.getByTestId('session').textContent(), POLL).toMatch(/store unlocked/);
}

/** On the Backbone step: a model folder typed and submitted, then described (its folder's name shown). */
export async function useModelFolder(page: Page, folder: string): Promise<void> {
  await page.getByRole('radio', { name: /A model folder/ }).check();
  await page.getByLabel('Model folder', { exact: true }).fill(folder);
  await page.getByLabel('Model folder', { exact: true }).press('Enter');
  await expect.poll(() => page.getByTestId('backbone-info').textContent(), POLL).toContain(path.basename(folder));
}
