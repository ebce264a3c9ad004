import { defineConfig } from 'vitest/config';

// Four layers of tests, all with real components (real encrypted SQLite files, real onnxruntime
// sessions, real Chromium): unit (one module), integration (several modules, real files and
// processes), component (one Svelte widget alone in Chromium, driven by keyboard and mouse) and
// e2e (the built renderer in Chromium with the real services behind the contract).
export default defineConfig({
  test: {
    projects: [
      {
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
        },
      },
      {
        // The widgets' page is built once (Vite and the renderer's Svelte config) for all the files.
        test: {
          name: 'component',
          include: ['test/component/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/component/build-widgets.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        // One browser at a time: two Chromium instances on a 2-core CI machine starve each other, so
        // the e2e files run one by one, after the other projects (the component widgets' Chromium included).
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: 1 },
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
