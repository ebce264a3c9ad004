import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { SOURCE_TASKS } from '../../src-main/data/catalogue.js';

import { accessibilityProblems } from '../support/axe.js';
import { closeBrowser, openRenderer, type RendererHarness, type RendererOptions } from '../support/renderer-harness.js';
import { malformedConll, ncbiDiseaseSlice } from '../support/data-slices.js';
import { safeStorageDouble } from '../support/safe-storage-double.js';
import { SHARED_DIR } from '../support/paths.js';
import { makeTempDir } from '../support/temp.js';
import { FAST_SCRYPT, POLL, setUpStoreInPage } from '../support/wizard.js';

// The first-run, unlock and import screens in Debian's Chromium, with the real services and a
// real encrypted store (SQLCipher files in a temp folder) behind the IPC contract.
const PASSPHRASE = 'plum orchard lantern seven';

describe('wizard: encrypted store and dataset import', () => {
  let app: RendererHarness | undefined;
  const homes: (() => void)[] = [];

  async function open(options: Partial<RendererOptions> & { autoLockMs?: number } = {}) {
    const home = makeTempDir();
    homes.push(home.cleanup);
    const { autoLockMs, ...rest } = options;
    app = await openRenderer({
      dataDir: home.dir,
      store: { scrypt: FAST_SCRYPT, ...(autoLockMs ? { autoLockMs } : {}) },
      ...rest,
    });
    return { app, page: app.page, home: home.dir };
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  afterAll(async () => {
    await closeBrowser();
    for (const cleanup of homes) cleanup();
  });

  it('sets the store up with a passphrase on first run, imports a NCBI-disease slice and lists its counts', async () => {
    const { app, page, home } = await open();
    await expect
      .poll(() => page.getByRole('heading', { name: 'Set up ClinPrompt on this workstation' }).count(), POLL)
      .toBe(1);
    expect(await page.getByTestId('setup-user').textContent()).toBe(app.services.store.username);
    await app.screenshot('store-setup');
    expect(await accessibilityProblems(page)).toEqual([]);

    await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await page.getByLabel('Passphrase again').fill('something else entirely');
    await page.getByRole('button', { name: 'Set up encrypted store' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), POLL).toMatch(/do not match/);
    expect((await app.services.store.status()).state).toBe('absent'); // nothing was created

    await setUpStoreInPage(page, PASSPHRASE);
    expect(await page.getByTestId('session').textContent()).toMatch(/Informatics administrator · store unlocked/);

    await page.getByRole('button', { name: /Import notes/ }).click();
    await expect.poll(() => page.getByText('No datasets yet').count(), POLL).toBe(1);
    // No file chooser outside the desktop app: the path is typed.
    expect(await page.getByRole('button', { name: 'Browse…' }).count()).toBe(0);
    const folder = ncbiDiseaseSlice(home, 300);
    await page.getByLabel('File format').selectOption('conll');
    await page.getByLabel('Task', { exact: true }).selectOption('ner');
    await page.getByLabel('Dataset name').fill('ncbi-disease-slice');
    await page.getByLabel('File or folder').fill(folder);
    // before importing: the first sentences as the importer reads them (devel.tsv comes first), the
    // mentions as the task writes them
    const filePreview = page.getByTestId('import-preview');
    await expect.poll(() => filePreview.locator('tbody tr').count(), POLL).toBe(5);
    expect(await filePreview.locator('th').allTextContents()).toEqual(['id', 'split', 'text', 'target']);
    expect(await filePreview.locator('tbody tr').nth(1).locator('td').allTextContents()).toEqual([
      'devel.tsv:12',
      'dev',
      'Germline mutations in BRCA1 are responsible for most cases of inherited breast and ovarian cancer .',
      'inherited breast and ovarian cancer [SEP] Disease',
    ]);
    expect(await page.getByRole('heading', { name: 'First 5 records of ncbi-slice' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Import', exact: true }).click();

    await expect
      .poll(() => page.getByTestId('import-report').textContent(), POLL)
      .toMatch(/Imported ncbi-disease-slice: \d+ examples/);
    // What the page shows is what the encrypted store holds.
    const [stored] = await app.services.store.use((store) => store.datasets.list());
    expect(stored?.counts.train).toBeGreaterThan(5);
    const row = page.getByTestId('datasets').locator('tbody tr');
    expect(await row.count()).toBe(1);
    for (const split of ['train', 'dev', 'test'] as const) {
      expect(await row.locator(`[data-split=${split}]`).textContent()).toBe(String(stored?.counts[split]));
    }
    const diseases = Object.values(stored?.labelCounts ?? {}).reduce((n, counts) => n + (counts['Disease'] ?? 0), 0);
    expect(await row.locator('.labels').textContent()).toContain(`Disease ${diseases}`);
    // Names and counts only: no token of the imported sentences reaches the report or the list.
    expect(await page.getByTestId('import-report').textContent()).not.toMatch(/BRCA1|Identification|APC2/);
    expect(await page.getByTestId('datasets').textContent()).not.toMatch(/BRCA1|Identification|APC2/);
    await app.screenshot('import-done');
    expect(await accessibilityProblems(page)).toEqual([]);

    // A wrong setting is named by its field's label: no CLI flag, no schema path.
    const alert = () => page.getByRole('alert').textContent();
    await page.getByLabel('Dataset name').fill('ncbi-disease-slice');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect
      .poll(alert, POLL)
      .toBe('Dataset name: A dataset named "ncbi-disease-slice" already exists; choose another name.');
    await page.getByLabel('Dataset name').fill('slice/2');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect.poll(alert, POLL).toBe('Dataset name: Use letters, digits, spaces, dot, dash or underscore.');
    await page.getByLabel('Dataset name').fill('as-nli');
    await page.getByLabel('Task', { exact: true }).selectOption('nli');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect.poll(alert, POLL).toMatch(/^Task: The CoNLL format holds ner annotations, not nli/);
    expect(await alert()).not.toMatch(/--|0\.name/);
    expect(app.consoleErrors).toEqual([]);
  });

  it('shows the file and line of a malformed file and imports nothing', async () => {
    const { app, page, home } = await open({ openStoreWith: PASSPHRASE });
    const broken = malformedConll(home, 7);
    await page.getByRole('button', { name: /Import notes/ }).click();
    await page.getByLabel('Dataset name').fill('broken');
    await page.getByLabel('File or folder').fill(broken);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), POLL).toContain(`${broken}, line 7`);
    expect(await page.getByRole('alert').textContent()).toMatch(/nothing was imported/);
    expect(await page.getByText('No datasets yet').count()).toBe(1);
    expect(await app.services.store.use((store) => store.datasets.list())).toEqual([]);
    await app.screenshot('import-error');
    expect(await accessibilityProblems(page)).toEqual([]);
    expect(app.consoleErrors).toEqual([]);
  });

  it('imports summaries, notes and NLI as a new user would, and previews, renames and deletes a dataset', async () => {
    const { app, page, home } = await open({ openStoreWith: PASSPHRASE });
    const alert = () => page.getByRole('alert');
    const report = () => page.getByTestId('import-report').textContent();
    await page.getByRole('button', { name: /Import notes/ }).click();
    await expect.poll(() => page.getByText('No datasets yet').count(), POLL).toBe(1);

    // a public preset fills in its own file, replacing a path typed before
    const meqsum = SOURCE_TASKS.find((t) => t.name === 'meqsum');
    await page.getByLabel('File or folder').fill(path.join(home, 'stale.csv'));
    await page.getByLabel('Start from a public source task (optional)').selectOption({ label: meqsum?.title ?? '' });
    await expect
      .poll(() => page.getByLabel('File or folder').inputValue(), POLL)
      .toBe(path.join(SHARED_DIR, 'data', 'sum/meqsum/meqsum.csv'));
    // and its mapping picks the file's columns
    await expect.poll(() => page.getByLabel('Source column').inputValue(), POLL).toBe('CHQ');
    expect(await page.getByLabel('Summary column').inputValue()).toBe('Summary');
    expect(await page.getByLabel('ID column').inputValue()).toBe('File');

    // the columns are picked from the file's own: the guess fills what it recognises, a required field
    // it cannot guess stays empty (the form will not submit), and the user picks it by keyboard
    const summaries = path.join(home, 'visits.csv');
    writeFileSync(
      summaries,
      'ID,dialogue,note_section\nv1,"Doctor: any cough?",Cough.\nv2,"Doctor: sleeping?",Insomnia.\n',
    );
    await page.getByLabel('File or folder').fill(summaries);
    await page.getByLabel('Dataset name').fill('visits');
    const preview = page.getByTestId('import-preview');
    await expect.poll(() => preview.locator('tbody tr').count(), POLL).toBe(2);
    expect(await preview.locator('th').allTextContents()).toEqual(['ID', 'dialogue', 'note_section']);
    expect(await preview.locator('tbody tr').first().locator('td').allTextContents()).toEqual([
      'v1',
      'Doctor: any cough?',
      'Cough.',
    ]);
    const summaryColumn = page.getByLabel('Summary column');
    expect(await page.getByLabel('Source column').inputValue()).toBe('dialogue');
    expect(await page.getByLabel('ID column').inputValue()).toBe('ID');
    expect(await summaryColumn.inputValue()).toBe('');
    expect(await summaryColumn.locator('option').allTextContents()).toEqual([
      '— choose a column —',
      'ID',
      'dialogue',
      'note_section',
    ]);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    expect(await summaryColumn.evaluate((e) => (e as HTMLSelectElement).validity.valueMissing)).toBe(true);
    expect(await page.getByTestId('import-report').count()).toBe(0);
    await summaryColumn.focus();
    await page.keyboard.press('End');
    expect(await summaryColumn.inputValue()).toBe('note_section');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect.poll(report, POLL).toMatch(/Imported visits: 2 examples/);
    expect(await alert().count()).toBe(0);
    const visits = await app.services.store.use((store) => store.datasets.examples(store.datasets.get('visits').id));
    expect(visits.map((e) => [e.externalId, e.input, e.target])).toEqual([
      ['v1', { source: 'Doctor: any cough?' }, { summary: 'Cough.' }],
      ['v2', { source: 'Doctor: sleeping?' }, { summary: 'Insomnia.' }],
    ]);
    expect(await report()).toContain('Each example has its reference summary to learn from');
    expect(await report()).not.toContain('Labels: .');
    const rows = page.getByTestId('datasets').locator('tbody tr');
    expect(await rows.first().locator('.labels').textContent()).toContain('reference summary for each example');

    // a notes folder goes to test, and the report says why
    const notes = path.join(home, 'ward-notes');
    mkdirSync(notes);
    for (const n of [1, 2, 3]) writeFileSync(path.join(notes, `note-${n}.txt`), `Ward note ${n}: stable overnight.`);
    await page.getByLabel('File format').selectOption('notes');
    await page.getByLabel('Task', { exact: true }).selectOption('ner');
    await page.getByLabel('Folder', { exact: true }).fill(notes);
    await page.getByLabel('Dataset name').fill('ward');
    await expect.poll(() => preview.locator('tbody tr').count(), POLL).toBe(3);
    expect(await page.getByRole('heading', { name: 'First 3 records of ward-notes' }).count()).toBe(1);
    expect(await preview.locator('tbody tr').first().locator('td').allTextContents()).toEqual([
      'note-1.txt',
      'test',
      'Ward note 1: stable overnight.',
      '',
    ]);
    expect(await page.getByLabel('Source column').count()).toBe(0); // a notes folder has nothing to map
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect.poll(report, POLL).toMatch(/Imported ward: 3 examples \(train 0,\s+dev\s+0, test 3\)/);
    expect(await page.getByTestId('split-reason').textContent()).toMatch(
      /unlabelled, so every note went to the test split/,
    );

    // an NLI table whose premise the guess cannot name: the first 5 of its rows, and the columns picked
    const nli = path.join(home, 'fever.csv');
    const lines = ['split,Statement,Claim,Label'];
    for (let i = 0; i < 6; i++)
      lines.push(`train,Patient ${i} is febrile.,Has fever.,${i < 4 ? 'entailment' : 'contradiction'}`);
    writeFileSync(nli, lines.join('\n') + '\n');
    await page.getByLabel('File format').selectOption('csv');
    await page.getByLabel('Task', { exact: true }).selectOption('nli');
    await page.getByLabel('File or folder').fill(nli);
    await page.getByLabel('Dataset name').fill('fever');
    await expect.poll(() => preview.locator('tbody tr').count(), POLL).toBe(5);
    expect(await page.getByLabel('Label column').inputValue()).toBe('Label');
    expect(await page.getByLabel('Split column').inputValue()).toBe('split');
    await page.getByLabel('Premise column').selectOption('Statement');
    await page.getByLabel('Hypothesis column').selectOption('Claim');
    await app.screenshot('import-column-mapping');
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect.poll(report, POLL).toMatch(/Imported fever: 6 examples/);
    // the report and the list hold names and counts; note text only in the previews asked for
    expect(await page.getByTestId('import-report').textContent()).not.toMatch(/Patient 0 is febrile/);
    expect(await page.getByTestId('datasets').textContent()).not.toMatch(/Patient 0 is febrile/);

    // the chosen dataset: label balance, preview, rename, delete
    await page.getByLabel('Dataset', { exact: true }).selectOption('fever');
    const balance = page.getByTestId('label-balance');
    await expect.poll(() => balance.locator('img').count(), POLL).toBe(1);
    expect(await balance.textContent()).toContain('train: contradiction 2, entailment 4');
    await page.getByRole('button', { name: /Preview first 5 examples/ }).click();
    await expect.poll(() => page.getByTestId('dataset-preview').locator('li').count(), POLL).toBe(5);
    expect(await page.getByTestId('dataset-preview').textContent()).toContain('Patient 0 is febrile.');
    await app.screenshot('import-dataset-details');
    expect(await accessibilityProblems(page)).toEqual([]);

    // the new name is kept above the screens, like the rest of the form: leaving the step (as an
    // auto-lock does) keeps it, and the dataset it is for
    await page.getByLabel('New name').fill('fever-nli');
    const step = (name: RegExp) => page.getByRole('button', { name }).first();
    await step(/^Backbone/).click();
    await step(/^Import notes/).click();
    await expect.poll(() => page.getByLabel('New name').inputValue(), POLL).toBe('fever-nli');
    expect(await page.getByLabel('Dataset', { exact: true }).inputValue()).toBe('fever');
    await page.getByRole('button', { name: 'Rename', exact: true }).click();
    await expect.poll(() => page.getByTestId('datasets').textContent(), POLL).toContain('fever-nli');
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Delete for good' }).click();
    await expect.poll(() => rows.count(), POLL).toBe(2);
    const stored = await app.services.store.use((store) => store.datasets.list().map((d) => d.name));
    expect(stored).toEqual(['visits', 'ward']);
    expect(app.consoleErrors).toEqual([]);
  });

  it('undoes what a cleared preset set, and reads JSON records under a key with the key filled in', async () => {
    const { app, page, home } = await open({ openStoreWith: PASSPHRASE });
    await page.getByRole('button', { name: /Import notes/ }).click();
    await expect.poll(() => page.getByText('No datasets yet').count(), POLL).toBe(1);
    const preset = page.getByLabel('Start from a public source task (optional)');
    const drawSplits = page.getByLabel(/Draw training, development and test examples/);

    // a preset whose one file is a whole training set draws the splits; cleared, nothing of it stays
    const whole = SOURCE_TASKS.find((t) => t.drawSplits);
    const mine = path.join(home, 'mine.tsv');
    await page.getByLabel('File or folder').fill(mine);
    await preset.selectOption({ label: whole?.title ?? '' });
    await expect.poll(() => drawSplits.isChecked(), POLL).toBe(true);
    expect(await page.getByLabel('Dataset name').inputValue()).toBe(whole?.name);
    await preset.selectOption({ label: '—' });
    await expect.poll(() => drawSplits.isChecked(), POLL).toBe(false);
    expect(await page.getByLabel('File or folder').inputValue()).toBe(mine);
    expect(await page.getByLabel('Dataset name').inputValue()).toBe('');
    expect(await page.getByLabel('File format').inputValue()).toBe('conll');
    expect(await page.getByLabel('Task', { exact: true }).inputValue()).toBe('ner');

    // JSON whose records sit under "questions": the preview finds them there and fills in the key
    const file = path.join(home, 'questions.json');
    const question = (id: string, body: string, answer: string) => ({ id, body, exact_answer: answer });
    writeFileSync(
      file,
      JSON.stringify({
        questions: [question('q1', 'Is aspirin an NSAID?', 'yes'), question('q2', 'Is insulin a lipid?', 'no')],
      }),
    );
    await page.getByLabel('File format').selectOption('jsonl');
    await page.getByLabel('Task', { exact: true }).selectOption('qa');
    await page.getByLabel('File or folder').fill(file);
    await page.getByLabel('Dataset name').fill('questions');
    const records = page.getByLabel(/Records key/);
    await expect.poll(() => records.inputValue(), POLL).toBe('questions');
    const preview = page.getByTestId('import-preview');
    await expect.poll(() => preview.locator('tbody tr').count(), POLL).toBe(2);
    await page.getByLabel('Question column').selectOption('body');
    await page.getByLabel('Answer column').selectOption('exact_answer');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect
      .poll(() => page.getByTestId('import-report').textContent(), POLL)
      .toMatch(/Imported questions: 2 examples/);

    // without the key the app names its own field, never a command-line flag
    await records.fill('');
    const refused = await page.evaluate(
      ([path]) => window.clinprompt!.invoke('datasets.import', [{ format: 'jsonl', task: 'qa', path, name: 'again' }]),
      [file],
    );
    expect(refused).toMatchObject({ ok: false, error: { field: 'records' } });
    expect(JSON.stringify(refused)).not.toMatch(/--records/);
    await expect.poll(() => records.inputValue(), POLL).toBe('questions'); // filled in again from the file
    expect(await accessibilityProblems(page)).toEqual([]);
    expect(app.consoleErrors).toEqual([]);
  });

  it('locks on request, refuses a wrong passphrase clearly, and unlocks with the right one', async () => {
    const { app, page } = await open({ openStoreWith: PASSPHRASE });
    await page.getByRole('button', { name: 'Lock' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'The store is locked' }).count(), POLL).toBe(1);
    expect((await app.services.store.status()).state).toBe('locked');

    await page.getByLabel('Store passphrase').fill('not my passphrase at all');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent(), POLL)
      .toBe('Wrong passphrase for this store. Nothing was changed; try again.');
    await app.screenshot('unlock-wrong-passphrase');
    expect(await accessibilityProblems(page)).toEqual([]);
    expect((await app.services.store.status()).state).toBe('locked');

    await page.getByLabel('Store passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await expect.poll(() => page.getByTestId('session').textContent(), POLL).toMatch(/store unlocked/);
    expect(app.consoleErrors).toEqual([]);
  });

  it('brings the lock screen back after inactivity', async () => {
    const { app, page } = await open({ openStoreWith: PASSPHRASE, autoLockMs: 5_000 });
    await page.getByRole('button', { name: /Import notes/ }).click(); // lists datasets: activity
    await expect.poll(() => page.getByText('No datasets yet').count(), POLL).toBe(1);
    await expect
      .poll(() => page.getByTestId('lock-reason').textContent(), POLL)
      .toMatch(/Locked after 5 seconds without activity/);
    expect((await app.services.store.status()).state).toBe('locked');
    await app.screenshot('auto-locked');
    await page.getByLabel('Store passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await expect.poll(() => page.getByTestId('session').textContent(), POLL).toMatch(/store unlocked/);
  });

  it('fills the path from the file chooser where the app has one', async () => {
    const picked: string[] = [];
    const { page, home } = await open({
      openStoreWith: PASSPHRASE,
      // stands in for Electron's dialog.showOpenDialog, which needs a running Electron app
      pickPath: async ({ kind }) => (picked.push(kind), `${home}/chosen-${kind}`),
    });
    await page.getByRole('button', { name: /Import notes/ }).click();
    await page.getByLabel('File format').selectOption('brat');
    await page.getByRole('button', { name: 'Browse…' }).click();
    await expect
      .poll(() => page.getByLabel('Folder', { exact: true }).inputValue(), POLL)
      .toBe(`${home}/chosen-folder`);
    expect(picked).toEqual(['folder']);
  });

  it('keeps the key in safeStorage too: one click after Lock, the passphrase again after inactivity', async () => {
    const { app, page } = await open({
      store: { safeStorage: safeStorageDouble('gnome_libsecret'), autoLockMs: 5_000 },
    });
    await expect.poll(() => page.getByText('also kept in this computer’s secure storage').count(), POLL).toBe(1);
    await app.screenshot('store-setup-safe-storage');
    expect(await accessibilityProblems(page)).toEqual([]);
    await setUpStoreInPage(page, PASSPHRASE);
    expect((await app.services.store.status()).protections).toEqual(['safe-storage', 'passphrase']);

    // idle: safeStorage would open it for anyone at this OS session, so the passphrase is asked for
    await expect.poll(() => page.getByTestId('lock-reason').count(), POLL).toBe(1);
    await expect.poll(() => page.getByLabel('Store passphrase').count(), POLL).toBe(1);
    expect(await page.getByRole('button', { name: 'Unlock' }).isDisabled()).toBe(true);
    await app.screenshot('auto-locked-safe-storage');
    await page.getByLabel('Store passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await expect.poll(() => page.getByTestId('session').textContent(), POLL).toMatch(/store unlocked/);

    // a Lock on request: one click
    await page.getByRole('button', { name: 'Lock' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'The store is locked' }).count(), POLL).toBe(1);
    expect(await page.getByLabel('Store passphrase').count()).toBe(0);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await expect.poll(() => page.getByTestId('session').textContent(), POLL).toMatch(/store unlocked/);
    expect(app.consoleErrors).toEqual([]);
  });
});
