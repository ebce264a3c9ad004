/**
 * `clinprompt backbone pretrain`: rebuilds the embedded default backbone from its recipe
 * (`npm run pretrain:backbone`). Thin: the work is in services/pretraining.ts; the model card is
 * written from the run's record.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { SHIPPED_META_PROMPT_PACK, SHIPPED_META_PROMPT_PACK_NAME } from '../../backbone/embedded.js';
import { UserError } from '../../common/errors.js';
import { releasePack } from '../../services/packs.js';
import type { ProviderChoice } from '../../engine/session.js';
import type { PretrainRecipe } from '../../services/pretraining.js';
import { pretrainBackbone, shipMetaPrompt } from '../../services/pretraining.js';
import { PRETRAINING_RECORD, writeModelCard } from '../../services/model-card.js';
import type { RegisterCommands } from '../context.js';
import { withInterruptSignal } from '../jobs.js';
import { formatDuration } from '../output.js';
import { positiveInt, provider, PROVIDERS } from '../options.js';
import { progressPrinter } from './training.js';

interface PretrainFlags {
  recipe: string;
  out: string;
  work: string;
  sharedData: string;
  provider: ProviderChoice;
  threads?: number;
  steps?: number;
}

function readRecipe(file: string): PretrainRecipe {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PretrainRecipe;
  } catch (error) {
    throw new UserError('BAD_FILE', `--recipe ${file} is not a readable JSON recipe.`, { cause: error });
  }
}

export const registerPretrainCommands: RegisterCommands = (program, context) => {
  const backbone = program.commands.find((c) => c.name() === 'backbone')!;
  backbone
    .command('pretrain')
    .description(
      'Pretrain the embedded default backbone from scratch (tokenizer, model, held-out perplexity, model card); resumable: run the same command again after a stop',
    )
    .option('--recipe <file>', 'model shape, trainer settings and seed', 'native-models/recipe.json')
    .option('--out <dir>', 'the finished Hugging Face folder', 'native-models/embedded')
    .option(
      '--work <dir>',
      'tokenizer, initial model and checkpoints (resumable state, never shipped)',
      'native-models/build/embedded',
    )
    .option('--shared-data <dir>', 'the public data folder', path.join('..', 'shared', 'data'))
    .option('--steps <n>', "override the recipe's steps, in each stage (a short trial run)", positiveInt)
    .option('--threads <n>', 'CPU threads (default: onnxruntime chooses)', positiveInt)
    .option('--provider <name>', `execution provider: ${PROVIDERS.join(', ')}`, provider, 'cpu')
    .action(async (opts: PretrainFlags) => {
      const out = context.output;
      const base = readRecipe(opts.recipe);
      // the flags win over the recipe, in every stage
      const flags = {
        ...(opts.steps !== undefined && { steps: opts.steps }),
        ...(opts.threads !== undefined && { threads: opts.threads }),
      };
      const recipe: PretrainRecipe = {
        ...base,
        train: { ...base.train, ...flags },
        ...(base.stages && { stages: base.stages.map((s) => ({ ...s, train: { ...s.train, ...flags } })) }),
      };
      const printTrain = progressPrinter(out);
      const record = await withInterruptSignal(out, (signal) =>
        pretrainBackbone({
          recipe,
          sharedDataDir: path.resolve(opts.sharedData),
          workDir: path.resolve(opts.work),
          outDir: path.resolve(opts.out),
          provider: opts.provider,
          signal,
          onProgress: (p) => {
            if (p.phase === 'prepare') out.note(`${p.message}...`);
            // the only evaluation in pretraining is the copy probe
            else if (p.phase === 'evaluate') {
              if (p.metric !== undefined) out.note(`copy gain at step ${p.step}: ${p.metric.toFixed(3)} nats`);
            } else printTrain(p);
          },
        }),
      );
      writeFileSync(path.join(opts.out, PRETRAINING_RECORD), JSON.stringify(record, null, 2) + '\n');
      writeModelCard(opts.out);
      out.result(
        record,
        (r) =>
          `Pretrained ${r.parameters.toLocaleString('en-US')} parameters on ${r.tokensSeen.toLocaleString('en-US')} tokens in ${formatDuration(r.wallSeconds)}; held-out perplexity ${r.heldOut.perplexity.toFixed(2)}, copy gain ${r.heldOut.copy?.gain.toFixed(3)} nats (how much it reads back in its context). Wrote ${opts.out}.`,
      );
    });

  backbone
    .command('ship-meta-prompt <distill-run>')
    .description(
      "Ship a meta-prompt distilled on the embedded backbone (an experiment's distill/ folder) beside it, and update its model card",
    )
    .option('--out <dir>', 'the embedded backbone folder', 'native-models/embedded')
    .option(
      '--sign-key <pem>',
      `ClinPrompt's release key (PKCS#8 PEM, kept off the repository): also writes ${SHIPPED_META_PROMPT_PACK}, a pack every workstation trusts`,
    )
    .action((runDir: string, opts: { out: string; signKey?: string }) => {
      const dir = path.resolve(runDir);
      let keyPem: string | undefined;
      if (opts.signKey !== undefined)
        try {
          keyPem = readFileSync(opts.signKey, 'utf8');
        } catch (error) {
          throw new UserError('NOT_FOUND', `cannot read ${opts.signKey}.`, { field: 'signKey', cause: error });
        }
      // sign first: a wrong key leaves the shipped files as they were
      const pack = keyPem === undefined ? undefined : releasePack(dir, keyPem, SHIPPED_META_PROMPT_PACK_NAME);
      const record = shipMetaPrompt(dir, path.resolve(opts.out));
      const packFile = path.join(opts.out, SHIPPED_META_PROMPT_PACK);
      // a pack of an earlier meta-prompt would contradict the folder
      if (pack) writeFileSync(packFile, pack);
      else rmSync(packFile, { force: true });
      writeModelCard(opts.out);
      context.output.result(
        { sources: record.tasks?.map((t) => t.name) ?? [], out: opts.out, pack: pack ? packFile : null },
        (r) =>
          `Shipped the meta-prompt of ${r.sources.join(', ')} in ${opts.out}/meta-prompt and updated the model card. ` +
          (r.pack
            ? `Its pack, signed by the release key: ${r.pack}.`
            : `No pack was written: --sign-key (ClinPrompt's release key) signs one.`),
      );
    });
};
