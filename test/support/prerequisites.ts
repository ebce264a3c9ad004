/**
 * Some tests need programs from the system (PyTorch for reference parity, gnome-keyring and D-Bus
 * for the keychain, Mesa's lavapipe for WebGPU). On a developer's machine a missing one skips
 * those tests with the reason; under CI (`CI=true`), where `.ci/run` installs all of them, a
 * missing prerequisite is an error, so that a broken install can never pass as a green run.
 */
export function skipUnlessAvailable(missingReason: string | undefined, what: string): boolean {
  if (missingReason === undefined) return false;
  if (process.env['CI'] === 'true') {
    throw new Error(`${what}: prerequisite missing in CI (${missingReason}); .ci/run must install it`);
  }
  console.warn(`${what} skipped: ${missingReason}`);
  return true;
}
