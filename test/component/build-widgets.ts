/**
 * Vitest global setup of the component tests: builds the widgets' page (widgets/) once with Vite
 * and the renderer's own Svelte configuration, into a temporary folder the tests serve to Chromium.
 */
import { fileURLToPath } from 'node:url';

import { svelte } from '@sveltejs/vite-plugin-svelte';
import { build } from 'vite';
import type { TestProject } from 'vitest/node';

import { makeTempDir } from '../support/temp.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The built widgets' page (index.html and its assets). */
    widgetsDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const out = makeTempDir('clinprompt-widgets-');
  await build({
    configFile: false,
    root: fileURLToPath(new URL('widgets/', import.meta.url)),
    base: './',
    logLevel: 'warn',
    plugins: [svelte({ configFile: fileURLToPath(new URL('../../src-renderer/svelte.config.js', import.meta.url)) })],
    build: { outDir: out.dir, emptyOutDir: true, assetsInlineLimit: 0, modulePreload: { polyfill: false } },
  });
  project.provide('widgetsDir', out.dir);
  return out.cleanup;
}
