import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { embeddedBackboneDir } from '../../src-main/backbone/embedded.js';
import { accessibilityProblems } from '../support/axe.js';
import { learnableNliRows, writeLearnableNli } from '../support/learnable-task.js';
import { STORIES_DIR } from '../support/tiny-llama.js';
import { e2eHome, focusedText, openWizard, POLL, useModelFolder } from '../support/wizard.js';

// Backbone -> Adapt -> Evaluate in Debian's Chromium against the real services: a store dataset
// trained on in a worker thread (onnxruntime) on the real stories260K model, cancelled, resumed,
// then scored beside the untrained backbone. Screenshots land in test-results/.

function embeddedPresent(): boolean {
  try {
    return existsSync(embeddedBackboneDir());
  } catch {
    return false;
  }
}

describe('wizard: backbone, adapt and evaluate', () => {
  const home = e2eHome();

  it('chooses a backbone, trains a prompt with cancel and resume, and evaluates it against the backbone', async () => {
    const app = await openWizard(home.dir, 'adapt and evaluate e2e');
    try {
      const { page } = app;
      // notes without labels, imported first: with no split given most are drawn into train, yet
      // Adapt must not offer them (nothing to learn from)
      const notes = path.join(home.dir, 'ward-notes.jsonl');
      const unlabelled = learnableNliRows({ train: 12, dev: 0, test: 0 }).map((r) => ({
        input: (r as { input: object }).input,
        target: null,
        labels: [],
      }));
      writeFileSync(notes, unlabelled.map((r) => JSON.stringify(r)).join('\n') + '\n');
      await app.services.handlers['datasets.import']({ format: 'jsonl', path: notes, task: 'nli', name: 'ward-notes' });
      const file = writeLearnableNli(path.join(home.dir, 'nli.jsonl'), { train: 24, dev: 6, test: 30 });
      await app.services.handlers['datasets.import']({ format: 'jsonl', path: file, task: 'nli', name: 'happy-nli' });
      const focused = () => focusedText(page);

      // 1. Backbone: reached from the Workstation's next action, by keyboard.
      await page.getByRole('button', { name: 'Next: Backbone' }).press('Enter');
      await expect.poll(focused, POLL).toBe('Backbone');
      expect(await page.getByRole('main').count()).toBe(1);
      if (!embeddedPresent()) {
        await expect
          .poll(() => page.getByTestId('embedded-missing').textContent(), POLL)
          .toMatch(/missing from this installation/);
        expect(await page.getByRole('button', { name: 'Next: Import notes' }).isDisabled()).toBe(true);
      }
      await useModelFolder(page, STORIES_DIR);
      const info = page.getByTestId('backbone-info');
      expect(await info.textContent()).toMatch(/stories260K.*260 thousand parameters \(llama\)/);
      expect(await info.textContent()).toMatch(/processor \(CPU\)/);
      expect(await page.getByTestId('backbone-fits').textContent()).toBe("Fits in this computer's memory.");
      await app.screenshot('wizard-backbone');
      expect(await accessibilityProblems(page)).toEqual([]);

      // 2. Import notes -> Task with the next actions; the notes come labelled, so on to Adapt.
      await page.getByRole('button', { name: 'Next: Import notes' }).click();
      await expect.poll(focused, POLL).toBe('Import notes');
      await expect.poll(() => page.getByRole('button', { name: 'Next: Task' }).isEnabled(), POLL).toBe(true);
      await page.getByRole('button', { name: 'Next: Task' }).click();
      await expect.poll(focused, POLL).toBe('Task');
      await page.getByRole('button', { name: /^Adapt/ }).click();
      await expect.poll(focused, POLL).toBe('Adapt');
      await expect.poll(() => page.getByLabel('Dataset', { exact: true }).inputValue(), POLL).toBe('happy-nli');
      expect(await page.getByLabel('Dataset', { exact: true }).locator('option').allTextContents()).not.toContainEqual(
        expect.stringContaining('ward-notes'),
      );
      // Without a shipped meta-prompt MPT is offered but not choosable; prompt tuning is the default.
      expect(await page.getByRole('radio', { name: /Multitask prompt tuning/ }).isDisabled()).toBe(true);
      expect(await page.getByRole('radio', { name: /^Prompt tuning/ }).isChecked()).toBe(true);
      await page.getByLabel('Training steps').fill('40');
      await page.getByText('Advanced settings').click();
      await page.getByLabel('Examples per batch').fill('2');
      await page.getByLabel('Checkpoint every N steps').fill('2');
      await page.getByLabel('Evaluate every N steps').fill('20');
      await page.getByRole('button', { name: 'Start training' }).click();
      await expect.poll(() => page.locator('.job .numbers').textContent(), POLL).toMatch(/step ([3-9]|\d\d) of 40/);
      expect(await page.locator('.job .numbers').textContent()).toMatch(/loss \d/);
      await page.getByRole('button', { name: 'Cancel' }).click();
      await expect.poll(() => page.getByTestId('resume-hint').count(), POLL).toBe(1);
      await app.screenshot('wizard-adapt-cancelled');
      await page.getByRole('button', { name: 'Resume training' }).click();
      await expect
        .poll(() => page.getByTestId('run-summary').textContent(), POLL)
        .toMatch(/Trained 40 steps \(resumed at step \d+\)/);
      await expect.poll(() => page.getByTestId('loss-chart').locator('img').count(), POLL).toBe(1);
      // The dev metric (accuracy) as training measured it, at step 20 and at the end.
      expect(await page.getByTestId('dev-metric').textContent()).toMatch(
        /development examples: (0|1)\.\d{3} at step 20, (0|1)\.\d{3} at step 40\./,
      );
      expect(await page.getByTestId('loss-chart').textContent()).toMatch(/Training loss over \d+ of 40 steps/);
      await app.screenshot('wizard-adapt-done');
      expect(await accessibilityProblems(page)).toEqual([]);

      // 3. Evaluate.
      await page.getByRole('button', { name: 'Next: Evaluate' }).press('Enter');
      await expect.poll(focused, POLL).toBe('Evaluate');
      await page.getByRole('button', { name: 'Evaluate on held-out notes' }).click();
      const metrics = page.getByTestId('metrics');
      await expect.poll(() => metrics.count(), POLL).toBe(1);
      expect(await metrics.locator('caption').textContent()).toBe('Estimates with 95% bootstrap intervals');
      const accuracy = await metrics.locator('tbody tr', { hasText: 'accuracy' }).textContent();
      expect(accuracy).toMatch(/^accuracy\d+\.\d% \(\d+\.\d% to \d+\.\d%\)\d+\.\d% \(\d+\.\d% to \d+\.\d%\)$/);
      // The held-out examples left after de-duplication; their answers come 20 to a page.
      const n = Number(
        /^Metrics on (\d+) held-out test examples$/.exec(
          (await page.getByRole('heading', { name: /^Metrics on/ }).textContent())!,
        )?.[1],
      );
      expect(n).toBeGreaterThan(20);
      const rows = page.getByTestId('outputs').locator('tbody tr');
      expect(await rows.count()).toBe(20);
      expect(await page.getByTestId('outputs-page').textContent()).toBe(`Answers 1 to 20 of ${n}`);
      expect(await page.getByRole('button', { name: 'Previous page' }).isDisabled()).toBe(true);
      // Each answer is marked wrong exactly when it differs from the correct one.
      for (const row of await rows.all()) {
        const [, gold, adapted] = await row.locator('td').allTextContents();
        const wrong = adapted!.includes('✗ wrong');
        expect(adapted!.replace(/\s*✗ wrong$/, '').trim() !== gold!.trim()).toBe(wrong);
      }
      await app.screenshot('wizard-evaluate');
      expect(await accessibilityProblems(page)).toEqual([]);
      await page.getByRole('button', { name: 'Next page' }).click();
      await expect.poll(() => page.getByTestId('outputs-page').textContent(), POLL).toBe(`Answers 21 to ${n} of ${n}`);
      expect(await rows.count()).toBe(n - 20);
      expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);

      // State survives moving between steps: back to Adapt and Backbone, nothing is lost.
      await page.getByRole('button', { name: '← Adapt' }).click();
      await expect.poll(() => page.getByTestId('run-summary').count(), POLL).toBe(1);
      await page.getByRole('button', { name: /^Backbone/ }).click();
      expect(await page.getByTestId('backbone-info').textContent()).toMatch(/stories260K/);
      await page.getByRole('button', { name: /^Evaluate/ }).click();
      expect(await page.getByTestId('outputs').locator('tbody tr').count()).toBe(n - 20);
      // ... and a lock: the results are still there once the store is unlocked again.
      await page.getByRole('button', { name: 'Lock' }).click();
      await page.getByLabel('Store passphrase').fill('adapt and evaluate e2e');
      await page.getByRole('button', { name: 'Unlock' }).click();
      await expect.poll(() => page.getByTestId('session').textContent(), POLL).toMatch(/store unlocked/);
      // The same step comes back, results and all.
      expect(await page.locator('nav [aria-current=step]').textContent()).toMatch(/^Evaluate/);
      expect(await page.getByTestId('outputs-page').textContent()).toBe(`Answers 21 to ${n} of ${n}`);
      // No dataset or note in the window title.
      expect(await page.title()).toBe('ClinPrompt: Evaluate');
      expect(app.consoleErrors).toEqual([]);
    } finally {
      await app.close();
    }
    // trains 40 steps and scores 27 examples twice on a shared 2-core machine: more than the e2e default
  }, 120_000);
});
