/**
 * Training on the real stories260K model for learning tests: a temporary folder, the backbone,
 * a `run` that trains one method on task data into a named run folder, and the log-likelihood of
 * gold answers under a soft prompt (the measure that moves on a model this small).
 */
import path from 'node:path';

import { afterAll } from 'vitest';

import type { SoftPrompt } from '../../src-main/backbone/generate/runner.js';
import { BackboneRunner } from '../../src-main/backbone/generate/runner.js';
import { scoreContinuations } from '../../src-main/backbone/generate/scoring.js';
import { openBackbone } from '../../src-main/backbone/load.js';
import type { ProviderChoice } from '../../src-main/engine/index.js';
import type { TrainingText } from '../../src-main/peft/batches.js';
import { TrainConfigSchema } from '../../src-main/peft/config.js';
import { createMethod } from '../../src-main/peft/methods.js';
import type { TrainProgress } from '../../src-main/peft/trainer.js';
import { trainRun, type TaskData } from '../../src-main/services/training.js';
import { makeTempDir } from './temp.js';
import { STORIES_DIR } from './tiny-llama.js';

export function storiesTraining(prefix: string, seed: number) {
  const tmp = makeTempDir(prefix);
  afterAll(() => tmp.cleanup());
  const backbone = openBackbone(STORIES_DIR, { cacheDir: tmp.dir });
  const dir = (name: string) => path.join(tmp.dir, name);
  const run = (
    method: string,
    settings: Record<string, unknown>,
    train: Record<string, unknown>,
    data: TaskData | TaskData[],
    out: string,
    options: { signal?: AbortSignal; onProgress?: (p: TrainProgress) => void; provider?: ProviderChoice } = {},
  ) =>
    trainRun({
      backbone,
      backboneName: 'stories260K',
      method: createMethod(method, settings, { backbone, backboneName: 'stories260K' }),
      config: TrainConfigSchema.parse({ seed, batchSize: 8, ...train }),
      data,
      outDir: dir(out),
      ...options,
    });

  /** Mean log-likelihood of each text's gold target after its prompt, under a soft prompt (or none). */
  const goldLogLikelihood = async (prompt: SoftPrompt | undefined, texts: readonly TrainingText[]) => {
    const runner = await BackboneRunner.create(backbone, {});
    try {
      let total = 0;
      for (const t of texts) total += (await scoreContinuations(runner, t.prompt, [t.target], { prompt }))[0]!;
      return total / texts.length;
    } finally {
      await runner.release();
    }
  };
  return { backbone, dir, run, goldLogLikelihood };
}
