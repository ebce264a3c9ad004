/**
 * A private, unlocked Secret Service for keychain tests: its own dbus-daemon (no service
 * activation, so nothing else on the machine is started or touched) and gnome-keyring-daemon with a
 * throwaway login keyring in a temporary HOME. Needs the Debian packages `dbus` and
 * `gnome-keyring`; without them the tests that use it are skipped with that reason.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll } from 'vitest';

import { loadKeytar, type KeychainBackend } from '../../../src-main/store/keys/keychain.js';
import { makeTempDir } from '../../support/temp.js';

export const SECRET_SERVICE_BINARIES = ['dbus-daemon', 'dbus-send', 'gnome-keyring-daemon'] as const;

function onPath(binary: string): boolean {
  return (process.env['PATH'] ?? '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Why the Secret Service cannot be started here, or undefined if it can. */
export function secretServiceUnavailableReason(): string | undefined {
  const missing = SECRET_SERVICE_BINARIES.filter((b) => !onPath(b));
  return missing.length > 0 ? `${missing.join(' and ')} not installed (apt-get install dbus gnome-keyring)` : undefined;
}

export interface SecretService {
  readonly busAddress: string;
  stop(): void;
}

/** Waits until `child` prints a line matching `pattern` on stdout; returns the line. */
function waitForLine(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs} ms`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const line = seen.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line.trim());
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited early (code ${code})`));
    });
  });
}

/** Polls the bus until `name` has an owner (gnome-keyring prints nothing in --foreground mode). */
async function waitForBusName(
  busAddress: string,
  name: string,
  owner: ChildProcess,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (owner.exitCode !== null) throw new Error(`gnome-keyring-daemon exited early (code ${owner.exitCode})`);
    const reply = execFileSync(
      'dbus-send',
      [
        `--bus=${busAddress}`,
        '--print-reply',
        '--dest=org.freedesktop.DBus',
        '/org/freedesktop/DBus',
        'org.freedesktop.DBus.NameHasOwner',
        `string:${name}`,
      ],
      { encoding: 'utf8' },
    );
    if (reply.includes('boolean true')) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} did not appear on the private bus within ${timeoutMs} ms`);
}

export async function startSecretService(): Promise<SecretService> {
  const tmp = makeTempDir('clinprompt-secret-service-');
  const runtime = path.join(tmp.dir, 'run');
  mkdirSync(runtime, { mode: 0o700 });
  const config = path.join(tmp.dir, 'bus.conf');
  writeFileSync(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${path.join(runtime, 'bus')}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`,
  );
  const children: ChildProcess[] = [];
  const stop = () => {
    for (const child of children.reverse()) if (child.exitCode === null) child.kill('SIGTERM');
    tmp.cleanup();
  };
  try {
    const bus = spawn('dbus-daemon', [`--config-file=${config}`, '--nofork', '--nopidfile', '--print-address=1'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    children.push(bus);
    const busAddress = await waitForLine(bus, /^unix:/, 'dbus-daemon');
    const keyring = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: {
        PATH: process.env['PATH'],
        HOME: tmp.dir,
        XDG_DATA_HOME: path.join(tmp.dir, 'data'),
        XDG_CONFIG_HOME: path.join(tmp.dir, 'config'),
        XDG_RUNTIME_DIR: runtime,
        DBUS_SESSION_BUS_ADDRESS: busAddress,
      },
    });
    children.push(keyring);
    keyring.stdin?.end('test-login-password'); // unlocks (and creates) the throwaway login keyring
    await waitForBusName(busAddress, 'org.freedesktop.secrets', keyring);
    return { busAddress, stop };
  } catch (error) {
    stop();
    throw error;
  }
}

/**
 * For a describe block that needs the OS keychain: starts a private Secret Service before the
 * suite, points libsecret at it (it reads the session bus address from the environment on first
 * use), loads keytar, and stops the service after. The returned getter is valid inside tests.
 */
export function useRealKeychain(): () => KeychainBackend {
  let service: SecretService | undefined;
  let keytar: KeychainBackend | undefined;
  beforeAll(async () => {
    service = await startSecretService();
    process.env['DBUS_SESSION_BUS_ADDRESS'] = service.busAddress;
    keytar = await loadKeytar();
  }, 60_000);
  afterAll(() => service?.stop());
  return () => {
    if (!keytar) throw new Error('useRealKeychain(): the keychain is only available inside tests');
    return keytar;
  };
}
