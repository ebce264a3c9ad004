/**
 * The shipped embedded backbone and its meta-prompt (native-models/embedded): the files are the
 * ones pretrained and distilled (pinned checksums), found without configuration, continue a
 * clinical opening with clinical-looking text (pinned greedy output), match the model card's
 * held-out perplexity within 1% and its copy probe (it reads back in its context, which soft prompts
 * need), and the meta-prompt beats an untrained prompt on a source task's dev split.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { embeddedBackboneDir, shippedMetaPromptDir } from '../../../src-main/backbone/embedded.js';
import { copyProbe } from '../../../src-main/backbone/generate/copy-probe.js';
import { perplexity } from '../../../src-main/backbone/generate/perplexity.js';
import type { SoftPrompt } from '../../../src-main/backbone/generate/runner.js';
import { BackboneRunner } from '../../../src-main/backbone/generate/runner.js';
import { scoreContinuations } from '../../../src-main/backbone/generate/scoring.js';
import { openBackbone } from '../../../src-main/backbone/load.js';
import { seededRandom } from '../../../src-main/common/random.js';
import { createMethod } from '../../../src-main/peft/methods.js';
import { openAdapter, readRunRecord } from '../../../src-main/peft/run-folder.js';
import { generateText } from '../../../src-main/services/backbone.js';
import { DEMO_TARGET, demoConfig } from '../../../src-main/services/demo.js';
import { PRETRAINING_RECORD } from '../../../src-main/services/model-card.js';
import { pretrainingCorpus } from '../../../src-main/services/pretraining-corpus.js';
import type { PretrainRecord } from '../../../src-main/services/pretraining.js';
import { framedTexts, readCatalogueData, splitOf } from '../../../src-main/services/training.js';
import { REPO_ROOT, SHARED_DIR } from '../../support/paths.js';

const DIR = path.join(REPO_ROOT, 'native-models', 'embedded');

/** sha256 of every shipped file, as committed. */
const CHECKSUMS: Record<string, string> = {
  'config.json': 'e33ca51ba8b09d12bb42aa3d3f4c81126660bf204debc051fa06c8beed72d7ea',
  'model.safetensors': 'f68fb96891089b8370b3762cc5a766545af66b1209239ceb2cf843b71ad9b363',
  'tokenizer.json': '323d192705d03851488bbffdc6f5411de74ddc01f7cde885c6fd4b01eeae2631',
  'tokenizer_config.json': 'a9d3eb9caf4a80114860593b042dfbaeaf5b11ebcd99c8f08ab558b7e7e8d6a9',
  'generation_config.json': 'a565dd187e8f7fbc5a557bd24715d095833b43514bec34467b016cd152442de3',
  'pretraining.json': 'b0dd1cb6dd4d930d8a0afde02f108baae3a8bc6e7c38ca6cc8fd51070a94b263',
  'meta-prompt/adapter_config.json': 'a95e6c89bb70f7b70ccce5788e63af0813a2a8a12fb1e73cae8ab2d19457fd6d',
  'meta-prompt/adapter_model.safetensors': '66fab4cd497a4151bcd92e953ff10bed78ba8623d2287d7a746f2b8548a2983f',
  'meta-prompt/run.json': '06d2d18725f4ccbb89252cd5772dda8ee85ad83d06b195e97cc56902e412223c',
  'meta-prompt.cpack': 'd37a645e2256238b1d0fe069570a4ec4d10b59c2f7f3df368e5ace38b2ecfaa1',
};

/** Greedy continuation of a clinical opening, as the committed weights produce it. */
const OPENING = 'CHIEF COMPLAINT:';
const CONTINUATION =
  ' The patient is a history of history of any other problems.\n\nDoctor: Okay, you have any history of any';

/**
 * The source task whose dev split the meta-prompt is checked on, and the margin (nats of the gold
 * answer's mean log-likelihood) it must win by: measured 4.06 (-1.84 against -5.90) on the first 60
 * (0.54 on the backbone before, which did not read its context).
 */
const SOURCE_TASK = 'medmcqa';
const DEV_EXAMPLES = 60;
const MARGIN = 2;

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('the embedded backbone', () => {
  it('is found without configuration and its shipped files are the pinned ones', () => {
    expect(embeddedBackboneDir({})).toBe(DIR);
    expect(shippedMetaPromptDir({})).toBe(path.join(DIR, 'meta-prompt'));
    for (const [file, digest] of Object.entries(CHECKSUMS)) expect(sha256(path.join(DIR, file)), file).toBe(digest);
    const backbone = openBackbone(DIR);
    const card = readFileSync(path.join(DIR, 'README.md'), 'utf8');
    expect(card).toContain(backbone.parameters.toLocaleString('en-US'));
    expect(backbone.tokenizer.vocabSize).toBe(8192);
  });

  it('was pretrained from the committed recipe (npm run pretrain:backbone rebuilds these weights)', () => {
    const record = JSON.parse(readFileSync(path.join(DIR, PRETRAINING_RECORD), 'utf8')) as PretrainRecord;
    const recipe = JSON.parse(readFileSync(path.join(REPO_ROOT, 'native-models', 'recipe.json'), 'utf8')) as unknown;
    expect(record.recipe).toEqual(recipe);
  });

  it('continues a clinical opening with the pinned clinical text (greedy)', async () => {
    const out = await generateText({ backbone: DIR, prompt: OPENING, maxTokens: 24 });
    expect(out.text).toBe(CONTINUATION);
  });

  it("matches the model card's held-out perplexity within 1%", async () => {
    const record = JSON.parse(readFileSync(path.join(DIR, PRETRAINING_RECORD), 'utf8')) as PretrainRecord;
    const corpus = await pretrainingCorpus(path.join(SHARED_DIR, 'data'), []);
    expect(corpus.heldOut).toHaveLength(record.heldOut.documents);
    const runner = await BackboneRunner.create(openBackbone(DIR), { contextTokens: record.heldOut.window });
    const measured = await perplexity(runner, corpus.heldOut, record.heldOut.window);
    expect(measured.tokens).toBe(record.heldOut.tokens);
    expect(Math.abs(measured.perplexity / record.heldOut.perplexity - 1)).toBeLessThan(0.01);
    expect(readFileSync(path.join(DIR, 'README.md'), 'utf8')).toContain(record.heldOut.perplexity.toFixed(2));
  });

  it('reads back in its context as the model card says (the copy probe, measured again)', async () => {
    const record = JSON.parse(readFileSync(path.join(DIR, PRETRAINING_RECORD), 'utf8')) as PretrainRecord;
    const corpus = await pretrainingCorpus(path.join(SHARED_DIR, 'data'), []);
    const runner = await BackboneRunner.create(openBackbone(DIR), { contextTokens: record.heldOut.window });
    const card = record.heldOut.copy!;
    const measured = await copyProbe(runner, corpus.heldOut, card.spanTokens, card.spans);
    expect(measured.spans).toBe(card.spans);
    expect(Math.abs(measured.firstNll - card.firstNll)).toBeLessThan(0.01);
    expect(Math.abs(measured.gain - card.gain)).toBeLessThan(0.01);
    // text read once is predicted far better the second time: what a soft prompt acting through the context needs
    expect(measured.gain).toBeGreaterThan(1.5);
    expect(readFileSync(path.join(DIR, 'README.md'), 'utf8')).toContain(`a gain of **${card.gain.toFixed(3)} nats**`);
  });

  it("the shipped meta-prompt makes a source task's dev answers more likely than an untrained prompt", async () => {
    const backbone = openBackbone(DIR);
    const metaDir = shippedMetaPromptDir({});
    const sources = readRunRecord(metaDir)!.data.name.split('+');
    const taskId = sources.indexOf(SOURCE_TASK);
    expect(taskId).toBeGreaterThanOrEqual(0);
    const data = await readCatalogueData(SOURCE_TASK, path.join(SHARED_DIR, 'data'));
    const dev = framedTexts(data.task, splitOf(data, 'dev').slice(0, DEV_EXAMPLES));
    const shipped = openAdapter(metaDir, backbone, { taskId }).adapter!.prompt!;
    // what prompt tuning starts from: a prompt of the same length, initialised as PT initialises it
    const pt = createMethod('pt', { promptLength: shipped.length }, { backbone, backboneName: 'embedded' });
    const untrained = pt.adapter(pt.initialValues(seededRandom(42))).prompt!;
    const runner = await BackboneRunner.create(backbone, {});
    const meanGold = async (prompt: SoftPrompt) => {
      let total = 0;
      for (const t of dev) total += (await scoreContinuations(runner, t.prompt, [t.target], { prompt }))[0]!;
      return total / dev.length;
    };
    expect(await meanGold(shipped)).toBeGreaterThan((await meanGold(untrained)) + MARGIN);
    await runner.release();
  });

  it('the demo adapts the shipped meta-prompt to a task it never saw, against PT with the same budget', () => {
    const config = demoConfig(path.join(SHARED_DIR, 'data'), {});
    expect(config.backbone).toBe(DIR);
    expect(config.metaPrompt).toBe(path.join(DIR, 'meta-prompt'));
    expect(readRunRecord(config.metaPrompt!)!.data.name.split('+')).not.toContain(DEMO_TARGET);
    expect(config.targets.map((t) => t.catalogue)).toEqual([DEMO_TARGET]);
    expect(config.methods).toEqual(['pt', 'mpt']);
    expect(config.k).toEqual([0, 8, 'full']);
    expect(config.budgets.pt!.train).toEqual(config.budgets.mpt!.train);
    const virtualTokens = (
      JSON.parse(readFileSync(path.join(DIR, 'meta-prompt', 'adapter_config.json'), 'utf8')) as {
        num_virtual_tokens: number;
      }
    ).num_virtual_tokens;
    expect(config.budgets.pt!.settings).toEqual({ promptLength: virtualTokens });
  });
});
