/** `clinprompt info`, `clinprompt doctor` and `clinprompt demo`. */
import type { SystemCheckResult } from '../../ipc/contract.js';
import type { CommandContext, RegisterCommands } from '../context.js';
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
      const result = await checkWorkstation(context);
      context.output.result(result, renderChecks);
    });

  program
    .command('demo')
    .description("Headless end-to-end run on the embedded backbone (the app's main job without a display)")
    .action(async () => {
      context.output.note('ClinPrompt demo: checking this workstation first.');
      const result = await checkWorkstation(context);
      context.output.result(result, (r) =>
        [
          renderChecks(r),
          '',
          'The end-to-end adaptation (import, label, adapt, evaluate, export) joins this demo as the',
          'adaptation issues land; see README.md for what exists today.',
        ].join('\n'),
      );
    });
};

/** Runs the system-check job in a worker with progress; a failed check makes the command fail. */
async function checkWorkstation(context: CommandContext): Promise<SystemCheckResult> {
  const state = await runJobInForeground(context.services().jobs, { kind: 'system-check' }, context.output);
  const result = state.result as SystemCheckResult;
  if (result.checks.some((c) => !c.ok)) context.exitCode = EXIT.failed;
  return result;
}

function renderChecks(result: SystemCheckResult): string {
  return formatTable(
    ['check', 'ok', 'detail'],
    result.checks.map((c) => [c.name, c.ok ? 'yes' : 'NO', c.detail]),
  );
}
