// Lint rules, including the architecture's layering (../shared/DESIGN.md, "Which part may use
// which"): data flows renderer -> IPC contract -> services -> peft/tasks/store/packs -> backbone
// -> engine, and `electron` is imported by the shell alone.
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Forbids imports of the given src-main areas (and electron) from a folder. */
function layer(files, forbiddenAreas, why) {
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'Only src-main/shell may import electron.' }],
          patterns: forbiddenAreas.map((area) => ({
            group: [`**/${area}/*`, `**/${area}/**`],
            message: `${why} (${area})`,
          })),
        },
      ],
    },
  };
}

const ALL = [
  'engine',
  'backbone',
  'peft',
  'tasks',
  'data',
  'store',
  'packs',
  'services',
  'ipc',
  'jobs',
  'shell',
  'cli',
];
const except = (...allowed) => ALL.filter((a) => !allowed.includes(a));

export default tseslint.config(
  { ignores: ['dist/', 'release/', 'node_modules/', 'test-results/', 'bench/results/', 'native-models/**/build/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    files: ['src-renderer/**', 'test/component/widgets/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  // Layering: each area may import only the areas below it.
  layer(['src-main/common/**'], ALL, 'common/ is the bottom layer'),
  layer(['src-main/engine/**'], except('engine'), 'The engine knows no model, task, store or UI'),
  layer(['src-main/backbone/**'], except('backbone', 'engine'), 'The backbone knows no task or database'),
  layer(
    ['src-main/tasks/**', 'src-main/data/**'],
    except('tasks', 'data'),
    'Tasks and importers deal in text and labels, never tensors or the store',
  ),
  layer(
    ['src-main/peft/**'],
    except('peft', 'backbone', 'engine'),
    'Training takes plain values, never a database handle',
  ),
  layer(['src-main/store/**'], except('store'), 'The store knows no math'),
  layer(['src-main/packs/**'], except('packs', 'peft', 'tasks'), 'Packs are files, not services'),
  layer(['src-main/ipc/**'], except('ipc', 'services'), 'The contract imports nothing runtime-specific'),
  layer(
    ['src-main/jobs/**', 'src-main/services/**'],
    ['shell', 'cli'],
    'Services run without Electron and without the CLI',
  ),
  layer(['src-main/cli/**'], ['shell'], 'The CLI does not use the Electron shell'),
  {
    files: ['src-main/shell/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['src-renderer/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'The renderer reaches main only through the IPC contract.' }],
          patterns: [
            {
              regex: 'src-main/(?!ipc/contract\\.js$)',
              message: 'The renderer may import only src-main/ipc/contract.js from the main side.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['scripts/**', 'test/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
);
