/** `clinprompt info`, `clinprompt doctor` and `clinprompt demo`. */
import path from 'node:path';

import type { ProviderChoice } from '../../engine/session.js';
import type { SystemCheckResult } from '../../ipc/contract.js';
import type { DemoSummary } from '../../services/demo.js';
import { DEMO_TARGET } from '../../services/demo.js';
import type { CommandContext, RegisterCommands } from '../context.js';
import { runJobInForeground } from '../jobs.js';
import { formatDuration, formatTable } from '../output.js';
import { provider, PROVIDERS } from '../options.js';
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
    .description(
      `The app's main job on the embedded backbone: adapt the shipped meta-prompt to a public task it never saw (${DEMO_TARGET}) with MPT, compare with prompt tuning and the untrained backbone, print the table and write the few-shot plot; run again to resume`,
    )
    .option('--out <dir>', 'folder for the runs, the results table and the plot', 'clinprompt-demo')
    .option('--shared-data <dir>', 'the public data folder', path.join('..', 'shared', 'data'))
    .option('--provider <name>', `execution provider: ${PROVIDERS.join(', ')}`, provider, 'cpu')
    .action(async (flags: { out: string; sharedData: string; provider: ProviderChoice }) => {
      const out = context.output;
      out.note('ClinPrompt demo: checking this workstation first.');
      const checks = await checkWorkstation(context);
      if (context.exitCode === EXIT.failed) {
        out.result(checks, renderChecks);
        return;
      }
      out.note(
        `Adapting the shipped meta-prompt to ${DEMO_TARGET} (k = 8 per label and all training data), against prompt tuning with the same budget and the untrained backbone.`,
      );
      const state = await runJobInForeground(
        context.services().jobs,
        {
          kind: 'demo',
          out: path.resolve(flags.out),
          sharedData: path.resolve(flags.sharedData),
          provider: flags.provider,
        },
        out,
      );
      const summary = state.result as DemoSummary;
      out.result(summary, (s) =>
        [
          s.table.trim(),
          '',
          `Backbone: ${s.backbone}`,
          `Meta-prompt: ${s.metaPrompt}`,
          `Ran ${s.ran.length} of ${s.cells} runs (${s.skipped} finished before) in ${formatDuration(s.wallSeconds)}.`,
          `Few-shot plot: ${s.files.png} and ${s.files.svg}; table: ${s.files.markdown}`,
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
