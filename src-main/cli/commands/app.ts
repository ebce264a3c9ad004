/** `clinprompt info`, `clinprompt doctor` and `clinprompt demo`. */
import type { SystemCheckResult } from '../../ipc/contract.js';
import type { RegisterCommands } from '../context.js';
import { runJobInForeground } from '../jobs.js';
import { formatTable } from '../output.js';
import { EXIT } from '../exit-codes.js';

export const registerAppCommands: RegisterCommands = (program, context) => {
  program
    .command('info')
    .description('Show the version, data folder and platform')
    .action(() => {
      const info = context.services().info;
      context.output.result(info, (i) =>
        formatTable(
          ['', ''],
          [
            ['version', i.version],
            ['data folder', i.dataDir],
            ['runtime', i.runtime],
            ['platform', i.platform],
          ],
        )
          .split('\n')
          .slice(2)
          .join('\n'),
      );
    });

  program
    .command('doctor')
    .description('Check that this workstation can run ClinPrompt (native modules, store engine, execution providers)')
    .action(async () => {
      const out = context.output;
      const state = await runJobInForeground(context.services().jobs, { kind: 'system-check' }, out);
      const result = state.result as SystemCheckResult;
      out.result(result, (r) =>
        formatTable(
          ['check', 'ok', 'detail'],
          r.checks.map((c) => [c.name, c.ok ? 'yes' : 'NO', c.detail]),
        ),
      );
      if (result.checks.some((c) => !c.ok)) context.exitCode = EXIT.failed;
    });

  program
    .command('demo')
    .description("Headless end-to-end run on the embedded backbone (the app's main job without a display)")
    .action(async () => {
      const out = context.output;
      out.note('ClinPrompt demo: checking this workstation first.');
      const state = await runJobInForeground(context.services().jobs, { kind: 'system-check' }, out);
      const result = state.result as SystemCheckResult;
      out.result(result, (r) =>
        [
          formatTable(
            ['check', 'ok', 'detail'],
            r.checks.map((c) => [c.name, c.ok ? 'yes' : 'NO', c.detail]),
          ),
          '',
          'The end-to-end adaptation (import, label, adapt, evaluate, export) joins this demo as the',
          'engine, backbone and task issues land; see README.md for what exists today.',
        ].join('\n'),
      );
      if (result.checks.some((c) => !c.ok)) context.exitCode = EXIT.failed;
    });
};
