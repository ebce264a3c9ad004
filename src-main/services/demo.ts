/**
 * The demo: the product's main job on the embedded backbone, out of the box. It reads a public
 * target task the shipped meta-prompt never saw (with the importer `clinprompt import` uses),
 * adapts the meta-prompt to it with MPT at a few k and on the full training split, trains prompt
 * tuning with the same budget, evaluates every run and the untrained backbone on the test split,
 * and writes the table and the few-shot plot. It is a small experiment (services/experiment.ts),
 * so it resumes cell by cell when run again with the same output folder.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';

import { embeddedBackboneDir, shippedMetaPromptDir } from '../backbone/embedded.js';
import { virtualTokensOf } from '../peft/adapter-folder.js';
import type { ProviderChoice } from '../engine/index.js';
import type { ResultFiles } from './experiment-results.js';
import type { ExperimentProgress, ExperimentSummary, ResolvedExperiment } from './experiment.js';
import { resolveExperimentConfig, runExperiment } from './experiment.js';

/** Evidence Inference: NLI over trial abstracts, a task type and domain the sources cover only in part. */
export const DEMO_TARGET = 'evidence-inference';

/** Shared by both methods: the comparison is at an equal training budget. */
const DEMO_TRAIN = { steps: 60, lr: 0.3, batchSize: 8, maxLength: 192, seed: 42 };

export interface DemoRequest {
  readonly outDir: string;
  /** The public data folder (../shared/data in a source checkout). */
  readonly sharedData: string;
  readonly provider?: ProviderChoice;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ExperimentProgress) => void;
}

export interface DemoSummary extends ExperimentSummary {
  readonly files: ResultFiles;
  readonly target: string;
  readonly backbone: string;
  readonly metaPrompt: string;
  /** The results table (markdown), as written to the output folder. */
  readonly table: string;
}

export function demoConfig(sharedData: string, env: NodeJS.ProcessEnv = process.env): ResolvedExperiment {
  const metaPrompt = shippedMetaPromptDir(env);
  const promptLength = virtualTokensOf(metaPrompt);
  return resolveExperimentConfig(
    {
      backbone: embeddedBackboneDir(env),
      metaPrompt,
      sharedData,
      targets: [{ catalogue: DEMO_TARGET }],
      methods: ['pt', 'mpt'],
      k: [0, 8, 'full'],
      draws: 1,
      budgets: { pt: { settings: { promptLength }, train: DEMO_TRAIN }, mpt: { train: DEMO_TRAIN } },
      testLimit: 150,
    },
    process.cwd(),
  );
}

export async function runDemo(r: DemoRequest): Promise<DemoSummary> {
  const config = demoConfig(path.resolve(r.sharedData));
  const summary = await runExperiment({
    config,
    outDir: path.resolve(r.outDir),
    threads: availableParallelism(), // onnxruntime alone takes physical cores only
    ...(r.provider && { provider: r.provider }),
    ...(r.signal && { signal: r.signal }),
    ...(r.onProgress && { onProgress: r.onProgress }),
  });
  // no `only`: every cell has run, so the results exist
  const files = summary.files!;
  return {
    ...summary,
    files,
    target: DEMO_TARGET,
    backbone: config.backbone,
    metaPrompt: config.metaPrompt!,
    table: readFileSync(files.markdown, 'utf8'),
  };
}
