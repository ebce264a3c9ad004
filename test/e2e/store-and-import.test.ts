import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { accessibilityProblems } from '../support/axe.js';
import { closeBrowser, openRenderer, type RendererHarness, type RendererOptions } from '../support/renderer-harness.js';
import { malformedConll, ncbiDiseaseSlice } from '../support/data-slices.js';
import { safeStorageDouble } from '../support/safe-storage-double.js';
import { makeTempDir } from '../support/temp.js';

// The first-run, unlock and import screens in Debian's Chromium, with the real services and a
// real encrypted store (SQLCipher files in a temp folder) behind the IPC contract.
const FAST_SCRYPT = { N: 2 ** 14, r: 8, p: 1 };
const PASSPHRASE = 'plum orchard lantern seven';

// Generous: four test runs may share two cores, and a Chromium page then answers slowly.
const POLL = { timeout: 30_000 };

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

    await page.getByLabel('Passphrase again').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Set up encrypted store' }).click();
    await expect
      .poll(() => page.getByTestId('session').textContent(), POLL)
      .toMatch(/Informatics administrator · store unlocked/);

    await page.getByRole('button', { name: /Import notes/ }).click();
    await expect.poll(() => page.getByText('No datasets yet').count(), POLL).toBe(1);
    // No file chooser outside the desktop app: the path is typed.
    expect(await page.getByRole('button', { name: 'Browse…' }).count()).toBe(0);
    const folder = ncbiDiseaseSlice(home, 300);
    await page.getByLabel('File format').selectOption('conll');
    await page.getByLabel('Task', { exact: true }).selectOption('ner');
    await page.getByLabel('Dataset name').fill('ncbi-disease-slice');
    await page.getByLabel('File or folder').fill(folder);
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
    // Names and counts only: no token of the imported sentences reaches the page.
    expect(await page.content()).not.toMatch(/Identification|APC2/);
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
    await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await page.getByLabel('Passphrase again').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Set up encrypted store' }).click();
    await expect.poll(() => page.getByTestId('session').textContent(), POLL).toMatch(/store unlocked/);
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
