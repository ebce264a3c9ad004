/**
 * `clinprompt experiment <config> --out <dir>`: the paper's experiment (teachers, distillation,
 * every target x method x k x draw, the results table and the few-shot curve) re-run by one
 * command from one JSON file (docs/experiment.md), each cell a job in its own worker. Run it again
 * with the same --out to resume; `--list` and `--cell` let a cluster scheduler run the cells itself.
 */
import path from 'node:path';

import { conversionCacheDir } from '../../backbone/load.js';
import { isCellFinished, planExperiment, readExperimentConfig, runExperiment } from '../../services/experiment.js';
import type { ProviderChoice } from '../../engine/session.js';
import type { RegisterCommands } from '../context.js';
import { withInterruptSignal } from '../jobs.js';
import { collect, positiveInt, provider, PROVIDERS } from '../options.js';

interface Flags {
  out: string;
  parallel: number;
  threads?: number;
  provider: ProviderChoice;
  cell: string[];
  list?: boolean;
}

export const registerExperimentCommands: RegisterCommands = (program, context) => {
  program
    .command('experiment')
    .description(
      'Run the few-shot experiment a config file describes (MPT vs PT, LoRA, full FT); resumable cell by cell',
    )
    .argument('<config>', 'experiment config (JSON, or YAML as .yaml/.yml); see docs/experiment.md')
    .requiredOption('--out <dir>', 'experiment folder: one run folder per cell, results and curve; run again to resume')
    .option('--parallel <n>', 'cells run at once, each a job in its own worker', positiveInt, 1)
    .option(
      '--threads <n>',
      "CPU threads per cell, unless a budget sets its own (default: the machine's shared among --parallel cells)",
      positiveInt,
    )
    .option('--provider <name>', `execution provider: ${PROVIDERS.join(', ')}`, provider, 'cpu')
    .option(
      '--cell <id>',
      'run only this cell (repeatable; its inputs must be finished): one cluster job per cell',
      collect,
      [],
    )
    .option('--list', 'list the cells in the order they may run, with the cells each needs; runs nothing')
    .action(async (file: string, flags: Flags) => {
      const out = context.output;
      const config = readExperimentConfig(file);
      const outDir = path.resolve(flags.out);
      if (flags.list) {
        const cells = planExperiment(config, outDir).map((c) => ({
          id: c.id,
          needs: c.needs,
          finished: isCellFinished(c),
        }));
        out.result(cells, (list) =>
          list
            .map(
              (c) =>
                `${c.id}${c.needs.length > 0 ? `  needs ${c.needs.join(', ')}` : ''}${c.finished ? '  (finished)' : ''}`,
            )
            .join('\n'),
        );
        return;
      }
      const summary = await withInterruptSignal(out, (signal) =>
        runExperiment({
          config,
          outDir,
          parallel: flags.parallel,
          ...(flags.threads !== undefined && { threads: flags.threads }),
          provider: flags.provider,
          modelCache: conversionCacheDir(context.io.env),
          ...(flags.cell.length > 0 && { only: flags.cell }),
          store: async () => ({ store: await context.store(), session: await context.session() }),
          jobs: context.services().jobs,
          signal,
          onProgress: (p) => out.progress(p),
        }),
      );
      out.result(summary, (s) =>
        [
          `Ran ${s.ran.length} of ${s.cells} cells (${s.skipped} finished before) in ${s.wallSeconds.toFixed(1)} s.`,
          ...(s.files
            ? [
                `Results: ${s.files.markdown}, ${s.files.csv}, ${s.files.json}`,
                `Few-shot curve: ${s.files.svg}, ${s.files.png}`,
              ]
            : ['Some cells are unfinished: the results are written once every cell has run.']),
        ].join('\n'),
      );
    });
};
