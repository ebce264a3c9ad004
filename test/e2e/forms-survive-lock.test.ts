import { writeFileSync } from 'node:fs';
import path from 'node:path';

import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';

import { STORIES_DIR } from '../support/tiny-llama.js';
import { e2eHome, openWizard, POLL, useModelFolder } from '../support/wizard.js';

// Auto-lock and half-filled forms, in Debian's Chromium against the real store service: typing
// and clicks keep the store open past its idle time; once they stop it locks, the screens give way
// to the unlock screen, and after the unlock every form is as it was left (Backbone, Import notes
// with its picked columns, Adapt with an advanced setting, Users' add-a-user form).
const PASSPHRASE = 'ember falcon quarry six';
const IDLE_MS = 6_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function go(page: Page, step: RegExp | string) {
  await page.getByRole('button', { name: step }).first().click();
}

async function unlock(page: Page) {
  await page.getByLabel('Store passphrase').fill(PASSPHRASE);
  await page.getByRole('button', { name: 'Unlock' }).click();
  await expect.poll(() => page.getByTestId('session').textContent(), POLL).toMatch(/store unlocked/);
}

describe('wizard: half-filled forms and the auto-lock', () => {
  const home = e2eHome();

  it('counts typing as activity, and keeps every half-filled form across a lock', async () => {
    // the store set up beforehand, unlocked in the page: the idle time starts once the page is there
    await (await openWizard(home.dir, PASSPHRASE)).close();
    const app = await openWizard(home.dir, undefined, { store: { autoLockMs: IDLE_MS } });
    try {
      const { page } = app;
      await unlock(page);
      const status = async () => (await app.services.store.status()).state;
      const table = path.join(home.dir, 'claims.csv');
      writeFileSync(table, 'split,Statement,Claim,Label\ntrain,Afebrile.,Has fever.,contradiction\n');

      await go(page, /^Backbone/);
      await useModelFolder(page, STORIES_DIR);

      // Import notes: format, task, file, name, a column picked by hand, drawn splits
      await go(page, /^Import notes/);
      await page.getByLabel('File format').selectOption('csv');
      await page.getByLabel('Task', { exact: true }).selectOption('nli');
      await page.getByLabel('File or folder').fill(table);
      await page.getByLabel('Premise column').selectOption('Statement');
      await page.getByLabel('Hypothesis column').selectOption('Claim');
      await page.getByLabel(/Draw training, development and test examples/).check();
      // typing for two idle periods, without a single request of its own: the store stays open
      const name = page.getByLabel('Dataset name');
      await name.click();
      for (const key of 'half-filled-claims'.split('')) {
        await name.press(key);
        await pause((2 * IDLE_MS) / 18);
      }
      expect(await status()).toBe('unlocked');

      // Adapt: a basic setting and an advanced one
      await go(page, /^Adapt/);
      const basic = page.locator('form[aria-label="Adaptation settings"] > .settings input[type=number]').first();
      await expect.poll(() => basic.count(), POLL).toBe(1);
      const basicId = await basic.getAttribute('id');
      await basic.fill('7');
      await page.getByText('Advanced settings').click();
      const advanced = page.locator('details .settings input[type=number]').first();
      const advancedId = await advanced.getAttribute('id');
      await advanced.fill('3');

      // Users: the add-a-user form, half filled
      await page.getByRole('button', { name: 'Users and roles' }).click();
      await page.getByLabel('Username').fill('dr-half');
      await page.getByLabel('Full name (optional)').fill('Dr Half');
      await page.getByRole('radio', { name: /^Data scientist:/ }).check();

      // hands off the keyboard: the lock comes, and with it the unlock screen
      await expect.poll(() => page.getByTestId('lock-reason').count(), POLL).toBe(1);
      expect(await status()).toBe('locked');
      await unlock(page);

      // every form as it was left
      expect(await page.getByLabel('Username').inputValue()).toBe('dr-half');
      expect(await page.getByLabel('Full name (optional)').inputValue()).toBe('Dr Half');
      expect(await page.getByRole('radio', { name: /^Data scientist:/ }).isChecked()).toBe(true);

      await go(page, /^Adapt/);
      await expect.poll(() => page.locator(`#${basicId}`).inputValue(), POLL).toBe('7');
      expect(await page.locator(`#${advancedId}`).inputValue()).toBe('3');

      await go(page, /^Import notes/);
      await expect.poll(() => page.getByLabel('Premise column').inputValue(), POLL).toBe('Statement');
      expect(await page.getByLabel('Hypothesis column').inputValue()).toBe('Claim');
      expect(await page.getByLabel('File format').inputValue()).toBe('csv');
      expect(await page.getByLabel('Task', { exact: true }).inputValue()).toBe('nli');
      expect(await page.getByLabel('File or folder').inputValue()).toBe(table);
      expect(await page.getByLabel('Dataset name').inputValue()).toBe('half-filled-claims');
      expect(await page.getByLabel(/Draw training, development and test examples/).isChecked()).toBe(true);

      await go(page, /^Backbone/);
      expect(await page.getByLabel('Model folder', { exact: true }).inputValue()).toBe(STORIES_DIR);
      expect(app.consoleErrors).toEqual([]);
    } finally {
      await app.close();
    }
  }, 150_000);
});
