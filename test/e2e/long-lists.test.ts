import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { learnableNliRows, writeLearnableNli } from '../support/learnable-task.js';
import { STORIES_DIR } from '../support/tiny-llama.js';
import { e2eHome, openWizard, POLL, useModelFolder } from '../support/wizard.js';

// "10,000 notes stay responsive": notes bulk-imported into the real encrypted store, a prompt run
// over them, and the Run step's results list holding only a window of rows in the page while it
// scrolls to the last note. CI runs 2,000 notes (the window does not grow with the count, and the
// run over them is most of the test's time); CLINPROMPT_LONG_LIST_NOTES=10000 runs the full claim
// (524 s on a loaded 2-core machine, 2026-11-27).
const NOTES = Number(process.env['CLINPROMPT_LONG_LIST_NOTES'] ?? 2_000);
const noteId = (n: number) => `note-${String(n).padStart(5, '0')}`;
const LONG = { timeout: 500_000, interval: 1_000 };

describe('wizard: long lists', () => {
  const home = e2eHome();

  it(
    `shows the results of ${NOTES} notes as a window of rows and scrolls to the last`,
    { timeout: 600_000 },
    async () => {
      const app = await openWizard(home.dir, 'long lists e2e');
      try {
        const { page } = app;
        const h = app.services.handlers;
        const training = writeLearnableNli(path.join(home.dir, 'nli.jsonl'), { train: 8, dev: 0, test: 2 });
        await h['datasets.import']({ format: 'jsonl', path: training, task: 'nli', name: 'happy-nli' });
        const notes = path.join(home.dir, 'many-notes.jsonl');
        // each note its own (duplicates would be left out of the import)
        const rows = learnableNliRows({ train: 0, dev: 0, test: NOTES }, 13).map((row, i) => {
          const { input } = row as { input: { premise: string; hypothesis: string } };
          const id = noteId(i + 1);
          const premise = `${input.premise} (${id})`;
          return JSON.stringify({ ...row, id, input: { ...input, premise }, target: null, labels: [] });
        });
        writeFileSync(notes, rows.join('\n') + '\n');
        const imported = await h['datasets.import']({ format: 'jsonl', path: notes, task: 'nli', name: 'many-notes' });
        expect(imported.counts.total).toBe(NOTES);

        await page.getByRole('button', { name: 'Next: Backbone' }).click();
        await useModelFolder(page, STORIES_DIR);
        await page.getByRole('button', { name: /^Adapt/ }).click();
        await page.getByLabel('Dataset', { exact: true }).selectOption('happy-nli');
        await page.getByLabel('Training steps').fill('1');
        await page.getByRole('button', { name: 'Start training' }).click();
        await expect.poll(() => page.getByTestId('run-summary').textContent(), POLL).toMatch(/Trained 1 step/);

        await page.getByRole('button', { name: /^Run/ }).click();
        await page.getByLabel('Notes', { exact: true }).selectOption('many-notes');
        await page.getByRole('button', { name: `Run over ${NOTES} notes` }).click();
        await expect
          .poll(() => page.getByTestId('run-summary').textContent(), LONG)
          .toMatch(new RegExp(`Ran over ${NOTES} notes of "many-notes"`));

        const results = page.getByTestId('results');
        const inPage = () => results.locator(':scope > li').count();
        expect(await inPage()).toBeGreaterThan(0);
        expect(await inPage()).toBeLessThan(100);
        expect(await results.locator(':scope > li').first().getAttribute('aria-setsize')).toBe(String(NOTES));
        // scrolled to the end (heights are measured as rows show, so scroll until the end stays put)
        const region = page.getByRole('region', { name: 'Results, one per note' });
        await expect
          .poll(async () => {
            await region.evaluate((el) => el.scrollTo(0, el.scrollHeight));
            return results.locator(':scope > li').last().locator('h4').textContent();
          }, POLL)
          .toBe(noteId(NOTES));
        expect(await inPage()).toBeLessThan(100);
        await expect.poll(() => page.getByRole('heading', { name: noteId(NOTES) }).isVisible(), POLL).toBe(true);
        await app.screenshot('wizard-run-long-list');
        expect(app.consoleErrors).toEqual([]);
      } finally {
        await app.close();
      }
    },
  );
});
