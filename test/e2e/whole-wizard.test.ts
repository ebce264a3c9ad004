import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';

import { embeddedBackboneDir } from '../../src-main/backbone/embedded.js';
import { accessibilityProblems } from '../support/axe.js';
import { medmcqaSlice } from '../support/data-slices.js';
import { e2eHome, focusedText, openWizard, POLL, setUpStoreInPage } from '../support/wizard.js';

// The whole wizard in one sitting, as a new site walks it, in Debian's Chromium against the real
// services and the embedded backbone with its shipped meta-prompt: first run (the store set up
// with a passphrase) -> Backbone -> Import (a slice of MedMCQA, the public multiple-choice exam
// questions, with its answers; and new questions without) -> Task -> Label two of the new
// questions -> Adapt (multitask prompt tuning, a few steps) -> Evaluate -> Run over the new
// questions -> Export a signed pack. Model scores are not checked (the backbone is a demo model
// and is retrained now and then): what the user sees, the store and the files are. A screenshot
// of each step lands in test-results/whole-wizard/.
const PASSPHRASE = 'whole wizard walk nine';
const SHOTS = 'whole-wizard';
const LABELLED = 40; // real answered questions: train, dev and test drawn from them
const NEW = 4; // the next questions, without their answers, as a ward would bring them
const STEPS = 4;

describe('wizard: the whole walk', () => {
  const home = e2eHome();

  it('walks from first run to a signed pack on the embedded backbone with a real dataset', async () => {
    const { entry, answeredFile, freshFile, rows: fresh } = medmcqaSlice(home.dir, LABELLED, NEW);

    const app = await openWizard(home.dir);
    try {
      const { page } = app;
      const h = app.services.handlers;
      /** On arrival at a step: its heading has focus, and the window is named after it. */
      const arrived = async (title: string) => {
        await expect.poll(() => focusedText(page), POLL).toBe(title);
        expect(await page.title()).toBe(`ClinPrompt: ${title}`);
      };
      /** A step's work done: its screenshot, and the accessibility checks on what it shows. */
      const done = async (shot: string) => {
        await app.screenshot(`${SHOTS}/${shot}`);
        expect(await accessibilityProblems(page)).toEqual([]);
      };

      // 1. First run: no store yet; set it up with a passphrase, its first field focused.
      await expect
        .poll(() => page.getByRole('heading', { name: 'Set up ClinPrompt on this workstation' }).count(), POLL)
        .toBe(1);
      expect(await page.getByLabel('Passphrase', { exact: true }).evaluate((e) => e === document.activeElement)).toBe(
        true,
      );
      await app.screenshot(`${SHOTS}/01-first-run`);
      await setUpStoreInPage(page, PASSPHRASE);
      expect(await page.getByTestId('session').textContent()).toMatch(/Informatics administrator/);
      expect((await app.services.store.status()).state).toBe('unlocked');
      await arrived('Workstation');
      await done('02-workstation');

      // 2. Backbone: the embedded default, chosen by itself, with its shipped meta-prompt.
      await page.getByRole('button', { name: 'Next: Backbone' }).click();
      await arrived('Backbone');
      await expect.poll(() => page.getByTestId('backbone-info').textContent(), POLL).toMatch(/\(embedded default\)/);
      expect(await page.getByRole('radio', { name: 'The embedded default backbone' }).isChecked()).toBe(true);
      expect(await page.getByTestId('backbone-info').textContent()).toContain('Yes: adaptation can start from it');
      expect(await page.getByTestId('backbone-fits').textContent()).toBe("Fits in this computer's memory.");
      await done('03-backbone');

      // 3. Import: the public preset fills the form; our slice of its file replaces the path.
      await page.getByRole('button', { name: 'Next: Import notes' }).click();
      await arrived('Import notes');
      await expect.poll(() => page.getByText('No datasets yet').count(), POLL).toBe(1);
      await page.getByLabel('Start from a public source task (optional)').selectOption({ label: entry.title });
      await expect.poll(() => page.getByLabel('File or folder').inputValue(), POLL).toMatch(/medmcqa/);
      await page.getByLabel('File or folder').fill(answeredFile);
      await page.getByLabel('Dataset name').fill('medmcqa-sample');
      await page.getByRole('button', { name: 'Import', exact: true }).click();
      const report = () => page.getByTestId('import-report').textContent();
      await expect.poll(report, POLL).toMatch(new RegExp(`Imported medmcqa-sample: ${LABELLED} examples`));
      expect(await report()).toMatch(/drawn at random/);
      // the new questions, in the app's own JSONL (no mapping, held back for running), without answers
      await page.getByLabel('Start from a public source task (optional)').selectOption({ label: '—' }); // none
      await page.getByLabel('File format').selectOption('jsonl');
      await page.getByLabel('Task', { exact: true }).selectOption('qa');
      await page.getByLabel('File or folder').fill(freshFile);
      await page.getByLabel('Dataset name').fill('new-questions');
      await page.getByRole('button', { name: 'Import', exact: true }).click();
      await expect.poll(report, POLL).toMatch(new RegExp(`Imported new-questions: ${NEW} examples`));
      expect(await report()).toMatch(
        new RegExp(`\\(train 0,\\s+dev\\s+0, test ${NEW}\\).*The notes are unlabelled`, 's'),
      );
      const stored = await app.services.store.use((s) => s.datasets.list());
      const sampleCounts = stored.find((d) => d.name === 'medmcqa-sample')!.counts;
      expect(sampleCounts.total).toBe(LABELLED);
      expect(sampleCounts.test).toBeGreaterThan(0);
      expect(await page.getByTestId('datasets').locator('tbody tr').count()).toBe(2);
      await page.getByTestId('import-report').scrollIntoViewIfNeeded();
      await done('04-import');

      // 4. Task: question answering on the new questions, from the shipped meta-prompt.
      await page.getByRole('button', { name: 'Next: Task' }).click();
      await arrived('Task');
      await expect.poll(() => page.getByRole('radio', { name: 'Question answering' }).isChecked(), POLL).toBe(true);
      await page.getByLabel('Dataset', { exact: true }).selectOption('new-questions');
      expect(await page.getByRole('radio', { name: /The shipped meta-prompt/ }).isChecked()).toBe(true);
      await expect
        .poll(() => page.getByTestId('template-preview').textContent(), POLL)
        .toContain(`Question: ${fresh[0]!.question}`);
      expect(await page.getByTestId('template-preview').textContent()).toMatch(/Options:\nA\. .*\nB\. /);
      await done('05-task');

      // 5. Label: the first two questions with their real answers, by key (1 to 4 are A to D).
      await page.getByRole('button', { name: 'Next: Label examples' }).click();
      await arrived('Label examples');
      await expect
        .poll(() => page.getByRole('heading', { name: /^Example 1 of/ }).textContent(), POLL)
        .toBe(`Example 1 of ${NEW} (${fresh[0]!.id})`);
      for (const [i, question] of fresh.slice(0, 2).entries()) {
        await expect
          .poll(() => page.getByRole('heading', { name: /^Example \d/ }).textContent(), POLL)
          .toMatch(new RegExp(`^Example ${i + 1} of`));
        await page.keyboard.press(String(question.cop));
        await expect
          .poll(() => page.getByTestId('label-progress').textContent(), POLL)
          .toBe(`${i + 1} of 5 examples labelled`);
      }
      await done('06-label');
      const letters = fresh.slice(0, 2).map((q) => 'ABCD'[q.cop - 1]);
      await app.services.store.use((s) => {
        const labelled = s.datasets.get('new-questions-labelled');
        expect(labelled.counts).toMatchObject({ train: 2, total: 2 });
        expect(s.datasets.examples(labelled.id).map((e) => e.target)).toEqual(letters.map((answer) => ({ answer })));
      });

      // 6. Adapt: the labelled questions, multitask prompt tuning from the meta-prompt, a few steps.
      await page.getByRole('button', { name: 'Next: Adapt' }).click();
      await arrived('Adapt');
      await expect
        .poll(() => page.getByLabel('Dataset', { exact: true }).inputValue(), POLL)
        .toBe('new-questions-labelled');
      expect(await page.getByRole('radio', { name: /Multitask prompt tuning/ }).isChecked()).toBe(true);
      await page.getByLabel('Training steps').fill(String(STEPS));
      await page.getByText('Advanced settings').click();
      await page.getByLabel('Examples per batch').fill('2');
      await page.getByRole('button', { name: 'Start training' }).click();
      await expect
        .poll(() => page.getByTestId('run-summary').textContent(), POLL)
        .toMatch(new RegExp(`Trained ${STEPS} steps:\\s+[\\d,]+ trainable parameters`));
      await expect.poll(() => page.getByTestId('loss-chart').locator('img').count(), POLL).toBe(1);
      const [run] = await h['runs.list']();
      expect(run).toMatchObject({ method: 'mpt', task: 'qa', dataset: 'new-questions-labelled', steps: STEPS });
      expect(existsSync(path.join(run!.outDir, 'adapter_model.safetensors'))).toBe(true);
      expect(run!.backbone.folder).toBe(embeddedBackboneDir());
      await page.getByTestId('run-summary').scrollIntoViewIfNeeded();
      await done('07-adapt');

      // 7. Evaluate: two labelled questions hold nothing back; the held-out questions of the sample do.
      await page.getByRole('button', { name: 'Next: Evaluate' }).click();
      await arrived('Evaluate');
      const heldOut = page.getByLabel('Held-out notes', { exact: true });
      await expect.poll(() => heldOut.inputValue(), POLL).toBe('medmcqa-sample');
      expect(await heldOut.locator('option').allTextContents()).toEqual([
        `medmcqa-sample (${sampleCounts.test} test notes)`,
      ]);
      await page.getByRole('button', { name: 'Evaluate on held-out notes' }).click();
      const metrics = page.getByTestId('metrics');
      await expect.poll(() => metrics.count(), POLL).toBe(1);
      expect(await metrics.isVisible()).toBe(true);
      expect(await metrics.locator('tbody th').allTextContents()).toContain('accuracy');
      expect(await page.getByRole('heading', { name: /^Metrics on/ }).textContent()).toBe(
        `Metrics on ${sampleCounts.test} held-out test examples`,
      );
      expect(await page.getByTestId('outputs').locator('tbody tr').count()).toBe(sampleCounts.test);
      await done('08-evaluate');

      // 8. Run over the new questions: one answer per question.
      await page.getByRole('button', { name: 'Next: Run' }).click();
      await arrived('Run');
      await expect.poll(() => page.getByLabel('Prompt', { exact: true }).inputValue(), POLL).toBe(run!.outDir);
      await page.getByLabel('Notes', { exact: true }).selectOption('new-questions');
      await page.getByRole('button', { name: `Run over ${NEW} notes` }).click();
      await expect
        .poll(() => page.getByTestId('run-summary').textContent(), POLL)
        .toMatch(new RegExp(`Ran over ${NEW} notes of "new-questions"`));
      const answers = await page.getByTestId('answer').allTextContents();
      expect(answers).toHaveLength(NEW);
      for (const a of answers) expect(a).toMatch(/^Answer: [ABCD]$/); // closed labels: scored, always an option
      await done('09-run');

      // 9. Export: a signed pack that verifies, holding none of the questions it learned from.
      await page.getByRole('button', { name: 'Next: Export pack' }).click();
      await arrived('Export pack');
      await expect.poll(() => page.getByTestId('pack-preview').count(), POLL).toBe(1);
      expect(await page.getByTestId('phi-findings').textContent()).toMatch(/nothing in the pack's text looks like/);
      const name = await page.getByLabel('Pack name').inputValue();
      expect(name).toBe('new-questions-labelled-mpt');
      await page.getByRole('button', { name: 'Export signed pack' }).click();
      await expect
        .poll(() => page.getByTestId('pack-written').textContent(), POLL)
        .toMatch(new RegExp(`Wrote ${name} version 1`));
      const packFile = path.join(home.dir, `${name}-v1.cpack`);
      expect(existsSync(packFile)).toBe(true);
      expect(await h['packs.verify']({ file: packFile })).toMatchObject({
        ok: true,
        intact: true,
        signature: 'trusted',
        name,
        version: 1,
      });
      const members = unzipSync(readFileSync(packFile));
      expect(Object.keys(members)).toEqual(
        expect.arrayContaining(['adapter_config.json', 'adapter_model.safetensors']),
      );
      for (const [member, bytes] of Object.entries(members)) {
        const text = Buffer.from(bytes).toString('latin1');
        for (const q of fresh) expect(text.includes(q.question), `${member} holds a question`).toBe(false);
      }
      await done('10-export');
      expect(app.consoleErrors).toEqual([]);
    } finally {
      await app.close();
    }
    // trains a few steps and scores, runs and exports on the embedded backbone: more than the e2e default
  }, 300_000);
});
