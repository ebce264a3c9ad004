import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { parse as parseCsv } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';

import type { AdaptRunView } from '../../src-main/ipc/contract.js';
import { createServices } from '../../src-main/services/index.js';
import { accessibilityProblems } from '../support/axe.js';
import { learnableNliRows, writeLearnableNli } from '../support/learnable-task.js';
import { STORIES_DIR } from '../support/tiny-llama.js';
import { e2eHome, FAST_SCRYPT, focusedText, openWizard, POLL, useModelFolder } from '../support/wizard.js';

// Adapt (a few steps) -> Run over notes -> save results -> Export pack -> import a pack signed at
// another workstation, in Debian's Chromium against the real services and the real stories260K
// model. Screenshots land in test-results/.
const LABELS = ['entailment', 'contradiction'];

describe('wizard: run over notes and export a pack', () => {
  const home = e2eHome();
  /** This workstation's app, its store unlocked. */
  const openSiteA = () => openWizard(path.join(home.dir, 'a'), 'run over notes e2e');

  it('runs a trained prompt over new notes, saves the results, exports a signed pack and imports one from elsewhere', async () => {
    const app = await openSiteA();
    try {
      const { page } = app;
      const h = app.services.handlers;
      const training = writeLearnableNli(path.join(home.dir, 'nli.jsonl'), { train: 8, dev: 0, test: 2 });
      await h['datasets.import']({ format: 'jsonl', path: training, task: 'nli', name: 'happy-nli' });
      // New notes: the same task, unlabelled (no target), as a ward would bring them.
      const notes = path.join(home.dir, 'new-notes.jsonl');
      const unlabelled = learnableNliRows({ train: 0, dev: 0, test: 3 }, 11).map((row) =>
        JSON.stringify({ ...row, target: null, labels: [] }),
      );
      writeFileSync(notes, unlabelled.join('\n') + '\n');
      await h['datasets.import']({ format: 'jsonl', path: notes, task: 'nli', name: 'ward-notes' });
      const focused = () => focusedText(page);

      // Backbone and a tiny adaptation, as the Adapt step does it.
      await page.getByRole('button', { name: 'Next: Backbone' }).click();
      await useModelFolder(page, STORIES_DIR);
      await page.getByRole('button', { name: /^Adapt/ }).click();
      await expect.poll(() => page.getByLabel('Dataset', { exact: true }).inputValue(), POLL).toBe('happy-nli');
      await page.getByLabel('Training steps').fill('4');
      await page.getByRole('button', { name: 'Start training' }).click();
      await expect.poll(() => page.getByTestId('run-summary').textContent(), POLL).toMatch(/Trained 4 steps/);
      const run = (await h['jobs.list']()).find((j) => j.kind === 'train')!.result as AdaptRunView;

      // Run: reached from the step list by keyboard, heading focused, the new notes chosen by default.
      await page.getByRole('button', { name: /^Run/ }).press('Enter');
      await expect.poll(focused, POLL).toBe('Run');
      expect(await page.getByRole('main').count()).toBe(1);
      expect(await page.getByLabel('Notes', { exact: true }).inputValue()).toBe('ward-notes');
      // the prompt is the one this session trained, chosen among the store's finished runs
      await expect.poll(() => page.getByLabel('Prompt', { exact: true }).inputValue(), POLL).toBe(run.outDir);
      await page.getByRole('button', { name: 'Run over 3 notes' }).click();
      await expect
        .poll(() => page.getByTestId('run-summary').textContent(), POLL)
        .toMatch(/Ran over 3 notes of "ward-notes"/);
      const answers = await page.getByTestId('answer').allTextContents();
      expect(answers).toHaveLength(3);
      for (const a of answers) expect(a).toMatch(/^Answer: (entailment|contradiction)$/);
      await app.screenshot('wizard-run');
      expect(await accessibilityProblems(page)).toEqual([]);

      // Save as JSONL, then as CSV: real files that parse, one record per note.
      await page.getByRole('button', { name: 'Save results' }).click();
      await expect.poll(() => page.getByTestId('results-written').textContent(), POLL).toMatch(/Saved 3 notes to/);
      const jsonl = path.join(home.dir, 'a', 'exports', 'ward-notes-results.jsonl');
      const lines = readFileSync(jsonl, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.map((l) => l['id'])).toEqual(['test-1', 'test-2', 'test-3']);
      for (const l of lines) {
        expect(LABELS).toContain(l['answer']);
        expect(l['ok']).toBe(true);
        expect((l['input'] as Record<string, string>)['premise']).toMatch(/was very/);
      }
      await page.getByRole('radio', { name: /^CSV/ }).check();
      expect(await page.getByLabel('Save as').inputValue()).toBe(jsonl.replace(/\.jsonl$/, '.csv'));
      await page.getByRole('button', { name: 'Save results' }).click();
      await expect.poll(() => existsSync(jsonl.replace(/\.jsonl$/, '.csv')), POLL).toBe(true);
      const rows = parseCsv(readFileSync(jsonl.replace(/\.jsonl$/, '.csv'), 'utf8'), { columns: true }) as Record<
        string,
        string
      >[];
      expect(rows.map((r) => r['answer'])).toEqual(lines.map((l) => l['answer']));
      expect(Object.keys(rows[0]!)).toEqual(['id', 'split', 'premise', 'hypothesis', 'answer', 'readable', 'output']);
      // BRAT is offered for entities and relations only.
      expect(await page.getByRole('radio', { name: /^BRAT/ }).count()).toBe(0);
      // Saving over an existing file is refused, naming the field.
      await page.getByRole('button', { name: 'Save results' }).click();
      await expect.poll(() => page.getByRole('alert').textContent(), POLL).toMatch(/already exists/);

      // Export pack: what the pack holds, the PHI scan and the signer are shown before writing.
      await page.getByRole('button', { name: 'Next: Export pack' }).click();
      await expect.poll(focused, POLL).toBe('Export pack');
      await expect.poll(() => page.getByTestId('pack-preview').count(), POLL).toBe(1);
      expect(await page.getByTestId('phi-findings').textContent()).toMatch(/nothing in the pack's text looks like/);
      expect(await page.getByTestId('pack-signer').textContent()).toMatch(/made when the first pack is exported/);
      expect(await page.getByLabel('Pack name').inputValue()).toBe('happy-nli-pt');
      await app.screenshot('wizard-export-preview');
      expect(await accessibilityProblems(page)).toEqual([]);
      await page.getByRole('button', { name: 'Export signed pack' }).click();
      await expect
        .poll(() => page.getByTestId('pack-written').textContent(), POLL)
        .toMatch(/Wrote happy-nli-pt version 1/);
      const packFile = path.join(home.dir, 'a', 'happy-nli-pt-v1.cpack');
      const verified = await h['packs.verify']({ file: packFile });
      expect(verified).toMatchObject({
        ok: true,
        intact: true,
        signature: 'trusted',
        name: 'happy-nli-pt',
        version: 1,
      });

      // Another workstation signs a pack of the same prompt with its own key ...
      const siteB = createServices({ dataDir: path.join(home.dir, 'b'), store: { scrypt: FAST_SCRYPT } });
      const foreign = path.join(home.dir, 'from-site-b.cpack');
      try {
        await siteB.store.setUp({ passphrase: 'site b workstation' });
        await siteB.handlers['packs.export']({ source: run.outDir, out: foreign, name: 'site-b-nli' });
      } finally {
        await siteB.dispose();
      }
      // ... which this one checks (untrusted signer), trusts, and imports.
      await page.getByLabel('Pack file').fill(foreign);
      await page.getByRole('button', { name: 'Check pack' }).click();
      await expect.poll(() => page.getByTestId('import-contents').count(), POLL).toBe(1);
      expect(await page.getByTestId('import-contents').textContent()).toMatch(/site-b-nli, version 1.*nli \(/);
      expect(await page.getByTestId('import-signature').getAttribute('data-status')).toBe('untrusted');
      expect(await page.getByRole('button', { name: 'Import pack' }).isDisabled()).toBe(true);
      await app.screenshot('wizard-import-check');
      expect(await accessibilityProblems(page)).toEqual([]);
      await page.getByRole('button', { name: 'Trust this signer' }).click();
      await expect.poll(() => page.getByTestId('import-signature').getAttribute('data-status'), POLL).toBe('trusted');
      await page.getByRole('button', { name: 'Import pack' }).click();
      await expect
        .poll(() => page.getByTestId('pack-imported').textContent(), POLL)
        .toMatch(/Imported site-b-nli version 1 \(signed by a trusted key\)/);
      const packs = await h['packs.list']();
      expect(packs.map((p) => [p.name, p.source, p.trusted])).toEqual(
        expect.arrayContaining([
          ['happy-nli-pt', 'export', true],
          ['site-b-nli', 'import', true],
        ]),
      );

      // State survives moving between steps: the results and the pack are still there.
      await page.getByRole('button', { name: '← Run' }).click();
      expect(await page.getByTestId('answer').count()).toBe(3);
      await page.getByRole('button', { name: /^Export pack/ }).click();
      expect(await page.getByTestId('pack-written').count()).toBe(1);
      expect(await page.title()).toBe('ClinPrompt: Export pack');
      expect(app.consoleErrors).toEqual([]);
    } finally {
      await app.close();
    }
  });

  // Runs after the test above, on its store: the app restarted, nothing of that session in memory.
  it('offers the finished run again after a restart, and runs and exports it', async () => {
    const app = await openSiteA();
    try {
      const { page } = app;
      const [finished] = await app.services.handlers['runs.list']();
      expect(finished).toMatchObject({ method: 'pt', task: 'nli', dataset: 'happy-nli', steps: 4 });

      // No backbone chosen in this session: the run brings the one it was trained on.
      await page.getByRole('button', { name: /^Run/ }).click();
      const prompt = page.getByLabel('Prompt', { exact: true });
      await expect.poll(() => prompt.inputValue(), POLL).toBe(finished!.outDir);
      expect(await prompt.locator('option').allTextContents()).toEqual([
        expect.stringMatching(/^pt for nli on "happy-nli", \d+ \w+ \d{4}, \d\d:\d\d: not evaluated$/),
      ]);
      expect(await page.getByTestId('prompt-run').textContent()).toMatch(
        /Trained 4 steps by .* on the backbone stories260K/,
      );
      expect(await page.getByLabel('Notes', { exact: true }).inputValue()).toBe('ward-notes');
      expect(await accessibilityProblems(page)).toEqual([]);
      await page.getByRole('button', { name: 'Run over 3 notes' }).click();
      await expect
        .poll(() => page.getByTestId('run-summary').textContent(), POLL)
        .toMatch(/Ran over 3 notes of "ward-notes"/);
      expect(await page.getByTestId('answer').count()).toBe(3);
      await app.screenshot('wizard-run-after-restart');

      // Export: the same run, the next version of its pack.
      await page.getByRole('button', { name: 'Next: Export pack' }).click();
      await expect.poll(() => page.getByTestId('pack-preview').count(), POLL).toBe(1);
      expect(await page.getByLabel('Prompt', { exact: true }).inputValue()).toBe(finished!.outDir);
      expect(await page.getByTestId('pack-preview').locator('dd').first().textContent()).toBe('2'); // the version
      expect(app.consoleErrors).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
