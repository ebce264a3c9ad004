import { describe, expect, it } from 'vitest';

import { accessibilityProblems } from '../support/axe.js';
import { makeTempDir } from '../support/temp.js';
import { e2eHome, focusedText, openWizard, POLL, setUpStoreInPage } from '../support/wizard.js';

// Users and roles administered in the app, in Debian's Chromium against the real store service
// (SQLCipher store, keyring file, hash-chained audit log): the first user, an informatics
// administrator, adds a colleague with their own passphrase, changes the role, removes the access;
// the colleague, signed in at their own login, is refused the screen.
const ADMIN_PASSPHRASE = 'quartz heron ledger nine';
const COLLEAGUE_PASSPHRASE = 'amber willow kettle four';

describe('wizard: users and roles', () => {
  const home = e2eHome();

  it('lets an informatics administrator add a user, change the role and remove the access; refuses a data scientist', async () => {
    const admin = await openWizard(home.dir);
    try {
      const { page } = admin;
      const me = admin.services.store.username;
      // Set-up says before anything is created that the passphrase cannot be recovered.
      await expect.poll(() => page.getByTestId('passphrase-warning').count(), POLL).toBe(1);
      expect(await page.getByTestId('passphrase-warning').textContent()).toMatch(
        /A forgotten passphrase cannot be recovered/,
      );
      await setUpStoreInPage(page, ADMIN_PASSPHRASE);
      expect(await page.getByTestId('session').textContent()).toMatch(/Informatics administrator/);

      await page.getByRole('button', { name: 'Users and roles' }).press('Enter');
      await expect.poll(() => focusedText(page), POLL).toBe('Users and roles');
      expect(await page.title()).toBe('ClinPrompt: Users and roles');
      const rows = page.getByTestId('users').locator('tbody tr');
      await expect.poll(() => rows.count(), POLL).toBe(1);
      expect(await page.getByLabel(`Role of ${me}`).inputValue()).toBe('informatics-admin');
      expect(await rows.first().textContent()).toContain(`${me} (you)`);
      expect(await page.getByRole('button', { name: `Remove access of ${me}` }).count()).toBe(0);

      // Add a colleague as a clinician, with a first passphrase of their own.
      await page.getByLabel('Username').fill('dr-jones');
      await page.getByLabel('Full name (optional)').fill('Dr Jones');
      await page.getByRole('radio', { name: /^Clinician:/ }).check();
      await page.getByLabel('Their passphrase', { exact: true }).fill('too short');
      await page.getByLabel('Their passphrase again').fill('too short');
      await page.getByRole('button', { name: 'Add user' }).click();
      await expect
        .poll(() => page.getByRole('alert').textContent(), POLL)
        .toMatch(/^Passphrase: The passphrase is too short/);
      await page.getByLabel('Their passphrase', { exact: true }).fill(COLLEAGUE_PASSPHRASE);
      await page.getByLabel('Their passphrase again').fill(COLLEAGUE_PASSPHRASE);
      await page.getByRole('button', { name: 'Add user' }).click();
      await expect.poll(() => page.getByTestId('users-done').textContent(), POLL).toBe('Added dr-jones as Clinician.');
      await expect.poll(() => rows.count(), POLL).toBe(2);
      expect(await page.getByLabel('Username').inputValue()).toBe(''); // ready for the next one
      await admin.screenshot('users-added');
      expect(await accessibilityProblems(page)).toEqual([]);
      // The same name again is refused, naming the field.
      await page.getByLabel('Username').fill('dr-jones');
      await page.getByLabel('Their passphrase', { exact: true }).fill(COLLEAGUE_PASSPHRASE);
      await page.getByLabel('Their passphrase again').fill(COLLEAGUE_PASSPHRASE);
      await page.getByRole('button', { name: 'Add user' }).click();
      await expect
        .poll(() => page.getByRole('alert').textContent(), POLL)
        .toBe('Username: "dr-jones" is already a user; change their role in the list.');

      // Change the role; the last informatics administrator cannot demote themselves.
      await page.getByLabel('Role of dr-jones').selectOption({ label: 'Data scientist' });
      await expect
        .poll(() => page.getByTestId('users-done').textContent(), POLL)
        .toBe('dr-jones is now Data scientist.');
      await page.getByLabel(`Role of ${me}`).selectOption({ label: 'Clinician' });
      await expect.poll(() => page.getByRole('alert').textContent(), POLL).toMatch(/last informatics-admin/);
      await expect.poll(() => page.getByLabel(`Role of ${me}`).inputValue(), POLL).toBe('informatics-admin');
      const stored = await admin.services.store.use((s) => s.users.list().map((u) => [u.username, u.role]));
      expect(stored).toEqual([
        ['dr-jones', 'data-scientist'],
        [me, 'informatics-admin'],
      ]);

      // The colleague, at their own login with their own passphrase: the screen is not theirs.
      const colleague = await openWizard(home.dir, COLLEAGUE_PASSPHRASE, { store: { username: 'dr-jones' } });
      try {
        const other = colleague.page;
        await expect.poll(() => other.getByTestId('session').textContent(), POLL).toMatch(/Data scientist/);
        await other.getByRole('button', { name: 'Users and roles' }).click();
        await expect
          .poll(() => other.getByTestId('users-refused').textContent(), POLL)
          .toMatch(/Only an informatics administrator can add users.*signed in as\s+dr-jones, Data scientist/s);
        expect(await other.getByTestId('users').count()).toBe(0);
        expect(await accessibilityProblems(other)).toEqual([]);
        await colleague.screenshot('users-refused');
        // ... and so is the request itself, whatever the page shows.
        const refused = await other.evaluate(() =>
          window.clinprompt!.invoke('users.setRole', [{ username: 'dr-jones', role: 'informatics-admin' }]),
        );
        expect(refused).toMatchObject({ ok: false, error: { code: 'PERMISSION_DENIED' } });
        expect(colleague.consoleErrors).toEqual([]);
      } finally {
        await colleague.close();
      }

      // Remove the access: two clicks, the key slot revoked, the user kept for the audit history.
      await page.getByRole('button', { name: 'Remove access of dr-jones' }).click();
      await page.getByRole('button', { name: 'Confirm: remove dr-jones' }).click();
      await expect
        .poll(() => page.getByTestId('users-done').textContent(), POLL)
        .toMatch(/^Removed the access of dr-jones/);
      await expect
        .poll(() => rows.filter({ hasText: 'dr-jones' }).locator('.access').textContent(), POLL)
        .toBe('Removed');
      await admin.services.store.use((s) => {
        expect(s.keyring.current.wrappers.filter((w) => w.user === 'dr-jones')).toEqual([]);
        expect(s.users.find('dr-jones')?.disabled).toBe(true);
        expect(
          s.audit
            .recent(30)
            .filter((e) => e.username === me && e.action.startsWith('users.'))
            .map((e) => e.action),
        ).toEqual(['users.disable', 'users.role', 'users.credential', 'users.add']);
      });
      const locked = await openWizard(home.dir, undefined, { store: { username: 'dr-jones' } });
      try {
        await expect(locked.services.store.unlock({ passphrase: COLLEAGUE_PASSPHRASE })).rejects.toThrow();
      } finally {
        await locked.close();
      }
      expect(admin.consoleErrors).toEqual([]);
    } finally {
      await admin.close();
    }
  });

  it('sets a new passphrase for a colleague who forgot theirs, and lets them change it to their own', async () => {
    const passphrases = makeTempDir(); // a store of its own
    const RESET = 'granite otter violet twelve';
    const OWN = 'lantern meadow copper seven';
    const admin = await openWizard(passphrases.dir, ADMIN_PASSPHRASE);
    try {
      const { page } = admin;
      await admin.services.handlers['users.add']({
        username: 'dr-jones',
        role: 'clinician',
        passphrase: COLLEAGUE_PASSPHRASE,
      });
      await page.getByRole('button', { name: 'Users and roles' }).click();
      await page.getByRole('button', { name: 'Set a new passphrase for dr-jones' }).click();
      await page.getByLabel('New passphrase for dr-jones', { exact: true }).fill(RESET);
      await page.getByLabel('New passphrase for dr-jones again').fill('not the same at all');
      await page.getByRole('button', { name: 'Set new passphrase' }).click();
      await expect.poll(() => page.getByRole('alert').textContent(), POLL).toMatch(/do not match/);
      await page.getByLabel('New passphrase for dr-jones again').fill(RESET);
      await page.getByRole('button', { name: 'Set new passphrase' }).click();
      await expect
        .poll(() => page.getByTestId('users-done').textContent(), POLL)
        .toMatch(/^dr-jones has a new passphrase/);
      await admin.screenshot('users-passphrase-reset');
      expect(await accessibilityProblems(page)).toEqual([]);
      expect(admin.consoleErrors).toEqual([]);
    } finally {
      await admin.close();
    }

    // the forgotten one no longer opens the store; the new one does, with the colleague's own screen
    const refused = await openWizard(passphrases.dir, undefined, { store: { username: 'dr-jones' } });
    try {
      await expect(refused.services.store.unlock({ passphrase: COLLEAGUE_PASSPHRASE })).rejects.toThrow(
        /Wrong passphrase/,
      );
    } finally {
      await refused.close();
    }
    const colleague = await openWizard(passphrases.dir, RESET, { store: { username: 'dr-jones' } });
    try {
      const { page } = colleague;
      await expect.poll(() => page.getByTestId('session').textContent(), POLL).toMatch(/Clinician/);
      await page.getByRole('button', { name: 'Users and roles' }).click();
      await expect.poll(() => page.getByTestId('users-refused').count(), POLL).toBe(1);
      // a wrong current passphrase is named as such; then the change
      await page.getByLabel('Current passphrase').fill('not my passphrase');
      await page.getByLabel('New passphrase', { exact: true }).fill(OWN);
      await page.getByLabel('New passphrase again').fill(OWN);
      await page.getByRole('button', { name: 'Change passphrase' }).click();
      await expect
        .poll(() => page.getByRole('alert').textContent(), POLL)
        .toMatch(/^Current passphrase: Wrong passphrase/);
      await page.getByLabel('Current passphrase').fill(RESET);
      await page.getByRole('button', { name: 'Change passphrase' }).click();
      await expect
        .poll(() => page.getByTestId('passphrase-changed').textContent(), POLL)
        .toMatch(/Your passphrase is changed/);
      expect(await page.getByLabel('Current passphrase').inputValue()).toBe(''); // no secret left on screen
      await colleague.screenshot('users-passphrase-changed');
      expect(await accessibilityProblems(page)).toEqual([]);
      expect(colleague.consoleErrors).toEqual([]);
      await colleague.services.store.lock();
      await expect(colleague.services.store.unlock({ passphrase: RESET })).rejects.toThrow(/Wrong passphrase/);
      expect((await colleague.services.store.unlock({ passphrase: OWN })).state).toBe('unlocked');
    } finally {
      await colleague.close();
      passphrases.cleanup();
    }
  }, 120_000);
});
