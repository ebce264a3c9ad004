/**
 * `clinprompt backbone pretrain` end to end on a small slice of the real corpus with a tiny
 * recipe: the tokenizer, the initial model and the full-training path make a Hugging Face folder
 * whose loss fell, in two stages, with a held-out perplexity and a model card; a process SIGKILLed in
 * its second stage and started again ends with the same weights (and copy probes) as an unbroken run;
 * the corpus takes only TRAIN splits.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { openBackbone } from '../../../src-main/backbone/load.js';
import { EXIT } from '../../../src-main/cli/exit-codes.js';
import { SOURCE_TASKS } from '../../../src-main/data/catalogue.js';
import { readDataset } from '../../../src-main/data/read-dataset.js';
import { exampleTexts, pretrainingCorpus } from '../../../src-main/services/pretraining-corpus.js';
import type { PretrainRecord } from '../../../src-main/services/pretraining.js';
import { runCliCaptured } from '../../support/cli.js';
import { REPO_ROOT, SHARED_DIR } from '../../support/paths.js';
import { makeTempDir } from '../../support/temp.js';

const tmp = makeTempDir('clinprompt-pretrain-');
afterAll(() => tmp.cleanup());

// a shared-data folder holding the first 60 real transcriptions
const shared = path.join(tmp.dir, 'shared');
mkdirSync(path.join(shared, 'corpus'), { recursive: true });
const transcriptions = readFileSync(path.join(SHARED_DIR, 'data', 'corpus', 'mtsamples.txt'), 'utf8').split(/\n\s*\n/);
writeFileSync(path.join(shared, 'corpus', 'mtsamples.txt'), transcriptions.slice(0, 60).join('\n\n'));

const recipe = path.join(tmp.dir, 'recipe.json');
writeFileSync(
  recipe,
  JSON.stringify({
    seed: 3,
    datasets: [],
    model: {
      vocabSize: 400,
      hiddenSize: 32,
      intermediateSize: 64,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 2,
      maxPositions: 64,
    },
    windows: { pack: true },
    probeEvery: 20,
    train: { batchSize: 4, lr: 0.01, warmupSteps: 4, schedule: 'cosine', checkpointEvery: 5, threads: 1 },
    // two stages, as native-models/recipe.json: copy drills in short windows, then packed text with some drills
    stages: [
      {
        name: 'copy drills',
        windowTokens: 32,
        windows: { drills: { count: 300, leadWords: [0, 2], passageWords: [3, 6], gapWords: [0, 4] } },
        train: { steps: 20, batchSize: 8 },
      },
      {
        name: 'language modelling',
        windows: {
          pack: true,
          repeats: { share: 0.25, startWords: [0, 4], passageWords: [3, 10], gapWords: [0, 8] },
          drills: { amongText: true, count: 40, leadWords: [0, 2], passageWords: [3, 6], gapWords: [0, 4] },
        },
        train: { steps: 60 }, // long enough for the kill below to land inside it
      },
    ],
  }),
);
const args = (name: string) => [
  'backbone',
  'pretrain',
  '--recipe',
  recipe,
  '--shared-data',
  shared,
  '--out',
  path.join(tmp.dir, name, 'out'),
  '--work',
  path.join(tmp.dir, name, 'work'),
];
const env = { CLINPROMPT_LOG_LEVEL: 'error' };

describe('clinprompt backbone pretrain', () => {
  let unbroken: PretrainRecord;

  it('pretrains a Hugging Face folder whose loss falls, with held-out perplexity and a model card', async () => {
    const run = await runCliCaptured([...args('unbroken'), '--json'], env);
    expect(run.code, run.stderr).toBe(EXIT.ok);
    unbroken = JSON.parse(run.stdout) as PretrainRecord;
    expect(unbroken.steps).toBe(80);
    expect(unbroken.stages).toMatchObject([
      { name: 'copy drills', steps: 20, windowTokens: 32 },
      { name: 'language modelling', steps: 60, windowTokens: 64 },
    ]);
    expect(unbroken.tokensSeen).toBe(unbroken.stages![0]!.tokensSeen + unbroken.stages![1]!.tokensSeen);
    expect(unbroken.tokensSeen).toBeGreaterThan(80 * 4 * 30);
    const early = unbroken.lossCurve[0]!.loss;
    const late = unbroken.lossCurve.at(-1)!.loss;
    expect(early).toBeGreaterThan(Math.log(400) - 0.5); // starts near uniform over the vocabulary
    expect(late).toBeLessThan(early - 0.8);
    expect(unbroken.heldOut.documents).toBe(1); // one in 50 of 60
    expect(unbroken.heldOut.perplexity).toBeGreaterThan(1);
    expect(unbroken.heldOut.perplexity).toBeLessThan(Math.exp(late + 1));
    // the copy probe reads the held-out transcription's first 31 tokens twice (a 64-token context)
    expect(unbroken.heldOut.copy).toMatchObject({ spans: 1, spanTokens: 31 });
    expect(Number.isFinite(unbroken.heldOut.copy!.gain)).toBe(true);
    // probed at each stage's end (steps of the whole run); the last probe reads the final weights on fewer spans (here the same one)
    expect(unbroken.copyCurve!.map((p) => p.step)).toEqual([20, 40, 60, 80]);
    expect(unbroken.copyCurve!.at(-1)!.gain).toBeCloseTo(unbroken.heldOut.copy!.gain, 4);

    const out = path.join(tmp.dir, 'unbroken', 'out');
    const backbone = openBackbone(out);
    expect(backbone.config.vocabSize).toBe(400);
    expect(backbone.config.tieWordEmbeddings).toBe(true);
    expect(backbone.parameters).toBe(unbroken.parameters);
    expect(backbone.eosTokenIds).toEqual([1, 5]);
    const card = readFileSync(path.join(out, 'README.md'), 'utf8');
    expect(card).toContain(unbroken.heldOut.perplexity.toFixed(2));
    expect(card).toContain('not a clinical model');
    expect(card).toContain(`| 80 | ${unbroken.copyCurve!.at(-1)!.gain.toFixed(3)} |`);
    expect(card).toContain('2 stages, each starting from the weights the one before left');
    expect(card).toMatch(
      /\| copy drills \| 20 \| 8 x 32 \| 0\.01 \(cosine, 4 warm-up steps\) \| 300\. Drills for reading back/,
    );
    expect(card).toContain('a passage of 3-6 words, a gap of 0-4 words and the passage again');
    expect(card).toContain('25% of the windows (seeded) hold a passage of 3-10 words that comes back after');
    expect(card).toContain('Among them, 40 drills for reading back in the context');
    expect(unbroken.stages![1]!.trainWindows).toBeGreaterThan(40);
  });

  it('a run SIGKILLed in its second stage and started again ends with the same weights', async () => {
    const checkpointStep = (): number => {
      try {
        const file = path.join(tmp.dir, 'killed', 'work', 'stage-2', 'run', 'checkpoint.json');
        return (JSON.parse(readFileSync(file, 'utf8')) as { step: number }).step;
      } catch {
        return 0;
      }
    };
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'clinprompt.js'), ...args('killed')], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    const exited = once(child, 'exit');
    while (checkpointStep() < 10) {
      if (child.exitCode !== null) throw new Error('pretraining exited before its checkpoint');
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    await exited;
    expect(checkpointStep()).toBeLessThan(60);

    const resumed = await runCliCaptured([...args('killed'), '--json'], env);
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    const record = JSON.parse(resumed.stdout) as PretrainRecord;
    expect(record.resumedFromStep).toBeGreaterThanOrEqual(20 + 10); // the first stage is not trained again
    const weights = (name: string) => readFileSync(path.join(tmp.dir, name, 'out', 'model.safetensors'));
    expect(weights('killed').equals(weights('unbroken'))).toBe(true);
    expect(record.heldOut.perplexity).toBe(unbroken.heldOut.perplexity);
    expect(record.copyCurve).toEqual(unbroken.copyCurve);
  });

  it('refuses a recipe naming a dataset the catalogue lacks, naming the field', async () => {
    const bad = path.join(tmp.dir, 'bad-recipe.json');
    writeFileSync(bad, JSON.stringify({ ...JSON.parse(readFileSync(recipe, 'utf8')), datasets: ['mimic'] }));
    const run = await runCliCaptured([...args('bad'), '--recipe', bad], env);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain('datasets: "mimic" is not in the catalogue');
  });
});

describe('the pretraining corpus', () => {
  it('takes the text of TRAIN splits only, never dev or test', async () => {
    const entry = SOURCE_TASKS.find((t) => t.name === 'ncbi-disease')!;
    const corpus = await pretrainingCorpus(path.join(SHARED_DIR, 'data'), [entry]);
    const read = await readDataset(entry.format, path.join(SHARED_DIR, 'data', entry.path), { task: entry.task });
    const texts = new Set(corpus.train);
    const bySplit = (split: string) => read.examples.filter((e) => e.split === split).flatMap(exampleTexts);
    const train = bySplit('train');
    const evaluation = new Set([...bySplit('dev'), ...bySplit('test')].filter((t) => !train.includes(t)));
    expect(evaluation.size).toBeGreaterThan(1500);
    expect([...evaluation].filter((t) => texts.has(t))).toEqual([]);
    expect(new Set(train.filter((t) => texts.has(t))).size).toBe(new Set(train).size);
    expect(corpus.sources.map((s) => s.name)).toEqual(['mtsamples', 'ncbi-disease']);
  });
});
