/**
 * `clinprompt experiment <config> --out <dir>`: the paper's experiment (teachers, distillation,
 * every target x method x k x draw, the results table and the few-shot curve) re-run by one
 * command from one JSON file (docs/experiment.md). Run it again with the same --out to resume.
 */
import path from 'node:path';

import { conversionCacheDir, openBackbone } from '../../backbone/load.js';
import { readExperimentConfig, runExperiment } from '../../services/experiment.js';
import type { ProviderChoice } from '../../engine/session.js';
import type { RegisterCommands } from '../context.js';
import { withInterruptSignal } from '../jobs.js';
import { positiveInt, provider, PROVIDERS } from '../options.js';

export const registerExperimentCommands: RegisterCommands = (program, context) => {
  program
    .command('experiment')
    .description(
      'Run the few-shot experiment a config file describes (MPT vs PT, LoRA, full FT); resumable cell by cell',
    )
    .argument('<config>', 'experiment config (JSON, or YAML as .yaml/.yml); see docs/experiment.md')
    .requiredOption('--out <dir>', 'experiment folder: one run folder per cell, results and curve; run again to resume')
    .option('--parallel <n>', 'cells run at once', positiveInt, 1)
    .option(
      '--threads <n>',
      "CPU threads per cell, unless a budget sets its own (default: onnxruntime's choice)",
      positiveInt,
    )
    .option('--provider <name>', `execution provider: ${PROVIDERS.join(', ')}`, provider, 'cpu')
    .action(
      async (file: string, flags: { out: string; parallel: number; threads?: number; provider: ProviderChoice }) => {
        const out = context.output;
        const config = readExperimentConfig(file);
        const backbone = openBackbone(config.backbone, { cacheDir: conversionCacheDir(context.io.env) });
        const summary = await withInterruptSignal(out, (signal) =>
          runExperiment({
            config,
            outDir: path.resolve(flags.out),
            backbone,
            backboneName: path.basename(config.backbone),
            parallel: flags.parallel,
            ...(flags.threads !== undefined && { threads: flags.threads }),
            provider: flags.provider,
            store: async () => ({ store: await context.store(), session: await context.session() }),
            signal,
            onProgress: (p) => out.progress(p),
          }),
        );
        out.result(summary, (s) =>
          [
            `Ran ${s.ran.length} of ${s.cells} cells (${s.skipped} finished before) in ${s.wallSeconds.toFixed(1)} s.`,
            `Results: ${s.files.markdown}, ${s.files.csv}, ${s.files.json}`,
            `Few-shot curve: ${s.files.svg}, ${s.files.png}`,
          ].join('\n'),
        );
      },
    );
};
