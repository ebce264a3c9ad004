import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';

import { embeddedBackboneDir } from '../../src-main/backbone/embedded.js';
import { accessibilityProblems } from '../support/axe.js';
import { writeLearnableNli } from '../support/learnable-task.js';
import { e2eHome, focusedText, openWizard, POLL } from '../support/wizard.js';

// Adapt across an app restart, in Debian's Chromium against the real services and the embedded
// backbone with its shipped meta-prompt: a short prompt-tuning run finishes, a multitask prompt
// tuning run is stopped by closing the app (services disposed, page closed), and a new app on the
// same store offers the interrupted run with its step, resumes it to the configured step count,
// and Evaluate scores it and, chosen from the finished runs, the earlier session's run.
const PASSPHRASE = 'adapt across a restart';
const STEPS = 40;

function embeddedPresent(): boolean {
  try {
    return existsSync(embeddedBackboneDir());
  } catch {
    return false;
  }
}

/** From the Workstation to Adapt with the embedded default backbone. */
async function toAdapt(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Next: Backbone' }).click();
  await expect.poll(() => page.getByTestId('backbone-info').textContent(), POLL).toMatch(/\(embedded default\)/);
  await page.getByRole('button', { name: /^Adapt/ }).click();
  await expect.poll(() => focusedText(page), POLL).toBe('Adapt');
  await expect.poll(() => page.getByLabel('Dataset', { exact: true }).inputValue(), POLL).toBe('restart-nli');
}

describe.runIf(embeddedPresent())('wizard: adapt across an app restart', () => {
  const home = e2eHome();

  it('resumes a run interrupted by closing the app, and evaluates it and a run of the earlier session', async () => {
    const first = await openWizard(home.dir, PASSPHRASE);
    let outDir: string;
    try {
      const { page } = first;
      const file = writeLearnableNli(path.join(home.dir, 'nli.jsonl'), { train: 12, dev: 0, test: 8 });
      await first.services.handlers['datasets.import']({
        format: 'jsonl',
        path: file,
        task: 'nli',
        name: 'restart-nli',
      });
      await toAdapt(page);

      // A short prompt-tuning run that finishes in this session.
      await page.getByRole('radio', { name: /^Prompt tuning/ }).check();
      await page.getByLabel('Training steps').fill('2');
      await page.getByText('Advanced settings').click();
      await page.getByLabel('Examples per batch').fill('2');
      await page.getByRole('button', { name: 'Start training' }).click();
      await expect.poll(() => page.getByTestId('run-summary').textContent(), POLL).toMatch(/^Trained 2 steps:/);

      // Multitask prompt tuning with more steps, still running when the app closes.
      await page.getByRole('radio', { name: /Multitask prompt tuning/ }).check();
      await page.getByLabel('Training steps').fill(String(STEPS));
      await page.getByLabel('Checkpoint every N steps').fill('2');
      await page.getByRole('button', { name: 'Train again' }).click();
      await expect
        .poll(() => page.locator('.job .numbers').textContent(), POLL)
        .toMatch(new RegExp(`step ([3-9]|[1-3]\\d) of ${STEPS}`));
      const runs = await first.services.store.use((s) => s.runs.list());
      expect(runs.map((r) => [r.kind, r.status])).toEqual([
        ['train:mpt', 'running'],
        ['train:pt', 'succeeded'],
      ]);
      outDir = String(runs[0]!.config['outDir']);
    } finally {
      await first.close(); // as the app quits: the store locks, the worker stops, the page goes
    }
    const stoppedAt = (JSON.parse(readFileSync(path.join(outDir, 'checkpoint.json'), 'utf8')) as { step: number }).step;
    expect(stoppedAt).toBeGreaterThanOrEqual(2);
    expect(stoppedAt).toBeLessThan(STEPS);

    const app = await openWizard(home.dir);
    try {
      const { page } = app;
      await page.getByLabel('Store passphrase').fill(PASSPHRASE);
      await page.getByRole('button', { name: 'Unlock' }).click();
      await expect.poll(() => page.getByTestId('session').textContent(), POLL).toMatch(/store unlocked/);
      // the interrupted run is not finished anywhere: not a prompt to run, export or evaluate
      expect((await app.services.handlers['runs.list']()).map((r) => r.method)).toEqual(['pt']);
      await toAdapt(page);

      const interrupted = page.getByTestId('interrupted');
      await expect.poll(() => interrupted.count(), POLL).toBe(1);
      expect(await interrupted.locator('li').count()).toBe(1);
      expect(await interrupted.locator('li span').textContent()).toMatch(
        new RegExp(
          `^Multitask prompt tuning \\(adaptation\\) on "restart-nli", started .+: stopped at step ${stoppedAt} of ${STEPS}\\.$`,
        ),
      );
      await app.screenshot('wizard-adapt-interrupted');
      expect(await accessibilityProblems(page)).toEqual([]);
      await interrupted.getByRole('button', { name: 'Resume' }).click();
      await expect
        .poll(() => page.getByTestId('run-summary').textContent(), POLL)
        .toMatch(new RegExp(`^Trained ${STEPS} steps \\(resumed at step ${stoppedAt}\\)`));
      expect(await page.getByTestId('interrupted').count()).toBe(0);
      const finished = await app.services.store.use((s) => s.runs.list());
      expect(finished.map((r) => [r.kind, r.status])).toEqual([
        ['train:mpt', 'succeeded'],
        ['train:pt', 'succeeded'],
      ]);

      // Evaluate: the resumed run by default, then the earlier session's run chosen from the task's finished runs.
      await page.getByRole('button', { name: 'Next: Evaluate' }).click();
      await expect.poll(() => focusedText(page), POLL).toBe('Evaluate');
      const chooser = page.getByLabel('Prompt to evaluate');
      await expect.poll(() => chooser.locator('option').count(), POLL).toBe(2);
      const [resumed, earlier] = await chooser.locator('option').allTextContents();
      expect(resumed).toMatch(
        new RegExp(
          `^Multitask prompt tuning \\(adaptation\\), k = \\d+, ${STEPS} steps on "restart-nli", trained .+ \\(this session\\)$`,
        ),
      );
      expect(earlier).toMatch(/^Prompt tuning, k = \d+, 2 steps on "restart-nli", trained [^(]+$/);
      const metrics = page.getByTestId('metrics');
      await page.getByRole('button', { name: 'Evaluate on held-out notes' }).click();
      await expect.poll(() => metrics.count(), POLL).toBe(1);
      expect(await metrics.locator('thead th').nth(1).textContent()).toMatch(/^Adapted prompt \(mpt, k = \d+\)$/);
      await chooser.selectOption({ label: earlier! });
      expect(await metrics.count()).toBe(0); // the other run's scores are gone with the choice
      await page.getByRole('button', { name: 'Evaluate on held-out notes' }).click();
      await expect.poll(() => metrics.count(), POLL).toBe(1);
      expect(await metrics.locator('thead th').nth(1).textContent()).toMatch(/^Adapted prompt \(pt, k = \d+\)$/);
      expect(await page.getByRole('heading', { name: /^Metrics on/ }).textContent()).toMatch(
        /^Metrics on \d held-out test examples$/,
      );
      await app.screenshot('wizard-evaluate-earlier-run');
      expect(await accessibilityProblems(page)).toEqual([]);
      expect(app.consoleErrors).toEqual([]);
    } finally {
      await app.close();
    }
    // trains 42 steps and scores 8 examples four times on the embedded backbone, over two app sessions
  }, 240_000);
});
