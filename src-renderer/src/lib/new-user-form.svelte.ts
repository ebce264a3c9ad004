/**
 * The Users screen's "add a user" form as typed, and whose new passphrase an administrator is
 * setting, kept above the screens so that they survive an auto-lock. The passphrases are not kept:
 * a lock is exactly when a secret should leave memory.
 */
export class NewUserForm {
  username = $state('');
  displayName = $state('');
  role = $state('clinician');
  /** The user who forgot their passphrase and is getting a new one (the list's "Set a new passphrase"). */
  resetFor = $state<string | undefined>();

  clear(): void {
    this.username = '';
    this.displayName = '';
  }
}
