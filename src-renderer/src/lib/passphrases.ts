/** The check every form that sets a passphrase makes before sending it: typed the same twice. */
export function requireSamePassphrase(passphrase: string, confirmation: string): void {
  if (passphrase !== confirmation) throw new Error('The two passphrases do not match. Type the same passphrase twice.');
}
