/**
 * `npm run bench:induction`: can ClinPrompt's engine train a backbone to read back in its context
 * at all, and how fast? A freshly initialised model of the embedded recipe's shape learns passages of
 * random vocabulary tokens written twice (nothing but copying can predict the second copy), with
 * the full-training path. It prints the mean training loss every 20 steps: about ln(vocab) while the
 * model is blind to its context, and half of that once it copies perfectly. This is the
 * synthetic form of the copy probe (src-main/backbone/generate/copy-probe.ts) that the embedded
 * backbone's model card reports; it says how much training in-context copying needs on this engine.
 *
 *   npm run bench:induction [-- --steps 700 --lr 0.002 --batch 16 --span 32 --threads 2]
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openBackbone } from '../src-main/backbone/load.js';
import { writeInitialModel } from '../src-main/backbone/hf/initial-weights.js';
import { seededRandom } from '../src-main/common/random.js';
import { TrainConfigSchema } from '../src-main/peft/config.js';
import { createMethod } from '../src-main/peft/methods.js';
import { train } from '../src-main/peft/trainer.js';
import type { PretrainRecipe } from '../src-main/services/pretraining.js';
import { llamaConfigOf } from '../src-main/services/pretraining.js';
import { arg } from './support.js';

const steps = Number(arg('steps', '700'));
const lr = Number(arg('lr', '0.002'));
const batchSize = Number(arg('batch', '16'));
const span = Number(arg('span', '32'));
const threads = Number(arg('threads', '2'));

const recipe = JSON.parse(readFileSync('native-models/recipe.json', 'utf8')) as PretrainRecipe;
const config = llamaConfigOf(recipe.model);
const dir = mkdtempSync(join(tmpdir(), 'clinprompt-induction-'));
try {
  writeInitialModel(dir, config, recipe.seed);
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json'])
    copyFileSync(join('native-models', 'embedded', f), join(dir, f));
  const backbone = openBackbone(dir);
  const random = seededRandom(5);
  const firstOrdinary = 300; // past the special tokens and single bytes
  const texts = Array.from({ length: 4000 }, () => {
    const passage = backbone.tokenizer.decode(
      Array.from({ length: span }, () => firstOrdinary + Math.floor(random() * (config.vocabSize - firstOrdinary))),
    );
    return { prompt: '', target: `${passage}\n${passage}` };
  });
  const method = createMethod('full', {}, { backbone, backboneName: 'induction bench' });
  let window: number[] = [];
  console.log(`${steps} steps of ${batchSize} passages of ${span} random tokens written twice, lr ${lr}`);
  console.log(
    `blind to its context: ~${Math.log(config.vocabSize - firstOrdinary).toFixed(2)}; copying perfectly: ~${(Math.log(config.vocabSize - firstOrdinary) / 2).toFixed(2)}`,
  );
  const outcome = await train({
    backbone,
    method,
    config: TrainConfigSchema.parse({
      steps,
      batchSize,
      lr,
      warmupSteps: 20,
      schedule: 'constant',
      weightDecay: 0.1,
      beta1: 0.9,
      beta2: 0.95,
      checkpointEvery: steps,
      threads,
      maxLength: 4 * span,
      seed: 3,
    }),
    tasks: [{ name: 'induction', texts }],
    runDir: join(dir, 'run'),
    dataKey: `induction-${span}`,
    onProgress: (p) => {
      if (p.phase !== 'train' || p.loss === undefined) return;
      window.push(p.loss);
      if (p.step % 20 === 0) {
        console.log(`step ${p.step}  mean loss ${(window.reduce((a, b) => a + b, 0) / window.length).toFixed(3)}`);
        window = [];
      }
    },
  });
  console.log(`${outcome.steps} steps in ${(outcome.seconds / 60).toFixed(1)} min`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
