/**
 * The Users screen's "add a user" form as typed, kept above the screens so that it survives an
 * auto-lock. The passphrases are not kept: a lock is exactly when a secret should leave memory.
 */
export class NewUserForm {
  username = $state('');
  displayName = $state('');
  role = $state('clinician');

  clear(): void {
    this.username = '';
    this.displayName = '';
  }
}
