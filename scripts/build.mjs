#!/usr/bin/env node
// One build command for all three targets:
//   dist/main      the Node side (engine, services, CLI, Electron shell), compiled by tsc
//   dist/preload   the sandboxed preload, bundled to one CommonJS file by esbuild
//   dist/renderer  the Svelte wizard, built by Vite
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

rmSync(new URL('../dist/main', import.meta.url), { recursive: true, force: true });
run(bin('tsc'), ['-p', 'tsconfig.json']);

await build({
  entryPoints: [fileURLToPath(new URL('../src-main/shell/preload.ts', import.meta.url))],
  outfile: fileURLToPath(new URL('../dist/preload/preload.cjs', import.meta.url)),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'es2023',
  external: ['electron'],
  sourcemap: true,
  logLevel: 'warning',
});

run(bin('vite'), ['build', '--config', 'src-renderer/vite.config.ts', '--logLevel', 'warn']);
