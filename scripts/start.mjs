#!/usr/bin/env node
// Starts the desktop app where Electron can run (its binary is installed and there is a display);
// otherwise runs the same job headless: `clinprompt demo`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

function electronBinary() {
  try {
    const path = require('electron'); // the package exports the binary's path
    return typeof path === 'string' && existsSync(path) ? path : undefined;
  } catch {
    return undefined; // package present, binary not downloaded (ELECTRON_SKIP_BINARY_DOWNLOAD)
  }
}

const hasDisplay = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
const electron = electronBinary();
const result =
  electron && hasDisplay
    ? spawnSync(electron, [root], { stdio: 'inherit' })
    : (console.error(
        electron
          ? 'No display found: running the headless demo.'
          : 'Electron is not installed on this machine: running the headless demo.',
      ),
      spawnSync(
        process.execPath,
        [fileURLToPath(new URL('../bin/clinprompt.js', import.meta.url)), 'demo', ...process.argv.slice(2)],
        {
          stdio: 'inherit',
        },
      ));
process.exitCode = result.status ?? 1;
