/**
 * `clinprompt train` (with `adapt`, MPT's stage 3: the same command with the method fixed to mpt,
 * and `distill`, stage 2) and `clinprompt eval`: file-in/file-out training and evaluation, so a
 * cluster node without the store can run a stage (`--data` an exported .jsonl) as well as a
 * workstation (`--data` a dataset in the encrypted store, where the run is also recorded). Flags
 * for the trainer and each method come from their schemas (peft/config.ts, peft/<method>/config.ts).
 */
import path from 'node:path';

import type { Command } from 'commander';

import { UserError } from '../../common/errors.js';
import { backboneOrDefault } from '../../backbone/embedded.js';
import { openBackbone } from '../../backbone/load.js';
import { ProgressTracker } from '../../jobs/progress.js';
import { TrainConfigSchema } from '../../peft/config.js';
import type { MethodInstance } from '../../peft/method.js';
import { createMethod, isMethodName, METHOD_NAMES, METHODS, type MethodName } from '../../peft/methods.js';
import { addRunMetrics, readRunRecord } from '../../peft/run-folder.js';
import { isPackAdapter, openAdapterSource } from '../../services/packs.js';
import type { TrainProgress } from '../../peft/trainer.js';
import { trainableCount } from '../../peft/trainer.js';
import { MptDistillConfigSchema } from '../../peft/mpt/config.js';
import {
  evaluateExamples,
  fewShot,
  isDataFile,
  listRuns,
  readTaskData,
  splitOf,
  trainRun,
  writeEvaluation,
  type StoreAccess,
  type TaskData,
} from '../../services/training.js';
import type { Split } from '../../tasks/types.js';
import type { CommandContext, RegisterCommands } from '../context.js';
import { storePacks } from './packs.js';
import { withInterruptSignal } from '../jobs.js';
import { formatTable, type Output } from '../output.js';
import { nonNegativeInt, parseSplit, parseTaskType, positiveInt, provider, PROVIDERS } from '../options.js';
import { addSchemaOptions, flagOf, parseSchemaFlags, schemaValues } from '../schema-options.js';
import type { ProviderChoice } from '../../engine/session.js';

/** "77,668 trainable = 0.035%" */
export function describeShare(trainable: number, total: number): string {
  const share = (100 * trainable) / total;
  const percent = share >= 1 ? share.toFixed(1) : share < 0.001 ? share.toExponential(1) : share.toPrecision(2);
  return `${trainable.toLocaleString('en-US')} trainable = ${percent}% of ${total.toLocaleString('en-US')}`;
}

function missingTask(source: string): never {
  throw new UserError(
    'INVALID_ARGUMENT',
    `${source} is a file: give its task with --task, in the order of the --data files.`,
  );
}

/** The store, opened only when --data names a dataset (a file needs none). */
function storeAccess(context: CommandContext): () => Promise<StoreAccess> {
  return async () => ({ store: await context.store(), session: await context.session() });
}

/**
 * A training step's words on the progress line: epoch and learning rate; in a distillation also
 * the step's task and its loss terms, "epoch 1  lr 1.0e-1  chemprot ce 2.5227 kl 0.7499 mse 0.7316".
 */
export function trainPhase(p: TrainProgress): string {
  if (p.phase === 'evaluate') return p.metric === undefined ? 'evaluating on dev' : `dev ${p.metric.toFixed(4)}`;
  const terms = Object.entries(p.parts ?? {}).map(([name, value]) => `${name} ${value.toFixed(4)}`);
  const task = p.task === undefined ? [] : [[p.task, ...terms].join(' ')];
  return [`epoch ${p.epoch}`, `lr ${p.learningRate?.toExponential(1)}`, ...task].join('  ');
}

export function progressPrinter(out: Output): (p: TrainProgress) => void {
  const tracker = new ProgressTracker('train', 'train');
  return (p) => {
    out.progress(
      tracker.report({
        phase: trainPhase(p),
        step: p.step,
        totalSteps: p.totalSteps,
        ...(p.loss !== undefined && { loss: p.loss }),
        ...(p.tokens !== undefined && { tokens: p.tokens }),
      }),
    );
  };
}

interface CommonFlags {
  backbone?: string;
  data: string;
  task?: string;
  provider: ProviderChoice;
}

type TrainFlags = CommonFlags & { out: string; k?: number; draw: number } & Record<string, unknown>;

/** "L*d + L*r + r*d = 16*192 + 16*1 + 1*192 = 3,280 trainable = 0.083% of 3,934,656" */
function describeTrainables(method: MethodInstance, total: number): string {
  return `${method.countFormula ? `${method.countFormula} = ` : ''}${describeShare(trainableCount(method), total)}`;
}

/**
 * The flags of a single-task training command: data, run folder, few-shot draw, provider, the
 * trainer's settings and the settings of each method it can run (from their schemas).
 */
function trainingOptions(command: Command, methods: readonly MethodName[]): Command {
  command
    .option('--backbone <dir>', 'backbone folder, Hugging Face or llama2.c (default: the embedded backbone)')
    .requiredOption('--data <dataset|file>', 'a dataset in the store, or an exported .jsonl/.csv file (with --task)')
    .requiredOption('--out <dir>', 'run folder: adapter files, run.json, checkpoints; run again to resume')
    .option('--task <type>', 'the task a --data file holds: ner, re, qa, nli, summarization')
    .option('--k <n>', 'few-shot: train on a seeded draw of k examples (per label for QA, NLI, RE)', nonNegativeInt)
    .option('--draw <i>', 'which seeded few-shot draw (the same for every method)', nonNegativeInt, 0)
    .option('--provider <name>', `execution provider: ${PROVIDERS.join(', ')}`, provider, 'cpu');
  addSchemaOptions(command, TrainConfigSchema);
  for (const name of methods) addSchemaOptions(command, METHODS[name].schema as never);
  return command;
}

/** Trains one method on one task (`train`, and `adapt` for MPT's stage 3) and prints the summary. */
async function trainMethod(context: CommandContext, methodName: MethodName, flags: TrainFlags): Promise<void> {
  const out = context.output;
  const backbone = openBackbone(backboneOrDefault(flags.backbone));
  // A flag of another method is a mistake, not something to ignore silently.
  for (const other of METHOD_NAMES.filter((m) => m !== methodName)) {
    const given = Object.keys(schemaValues(METHODS[other].schema as never, flags));
    const own = Object.keys(schemaValues(METHODS[methodName].schema as never, flags));
    const foreign = given.filter((k) => !own.includes(k));
    if (foreign.length > 0)
      throw new UserError(
        'INVALID_ARGUMENT',
        `${flagOf(foreign[0]!)} applies to --method ${other}, not ${methodName}.`,
      );
  }
  const config = parseSchemaFlags(TrainConfigSchema, schemaValues(TrainConfigSchema, flags), 'Training');
  const method = createMethod(
    methodName,
    schemaValues(METHODS[methodName].schema as never, flags),
    { backbone, backboneName: path.basename(backboneOrDefault(flags.backbone)) },
    flagOf,
  );
  const total = backbone.parameters;
  out.note(`${METHODS[methodName].title}: ${describeTrainables(method, total)} parameters.`);
  const task = parseTaskType(flags.task);
  const all = await readTaskData(flags.data, { ...(task && { task }), store: storeAccess(context) });
  const data = flags.k === undefined ? all : fewShot(all, flags.k, flags.draw);
  const store = isDataFile(flags.data) ? undefined : await storeAccess(context)();
  const summary = await withInterruptSignal(out, (signal) =>
    trainRun({
      backbone,
      backboneName: path.basename(backboneOrDefault(flags.backbone)),
      method,
      config,
      data,
      outDir: path.resolve(flags.out),
      provider: flags.provider,
      signal,
      onProgress: progressPrinter(out),
      ...(store && { store }),
    }),
  );
  out.result(
    {
      method: summary.method,
      trainableParameters: summary.trainableParameters,
      trainableShare: summary.trainableShare,
      firstLoss: summary.firstLoss,
      lastLoss: summary.lastLoss,
      steps: summary.steps,
      resumedFromStep: summary.resumedFromStep,
      stoppedEarly: summary.stoppedEarly,
      metrics: summary.metrics,
      wallSeconds: summary.wallSeconds,
      provider: summary.provider,
      outDir: summary.outDir,
    },
    (r) =>
      [
        `Trained ${r.method} for ${r.steps} steps${r.resumedFromStep > 0 ? ` (resumed at step ${r.resumedFromStep})` : ''}` +
          `${r.stoppedEarly ? ', stopped early' : ''} on ${r.provider} in ${r.wallSeconds.toFixed(1)} s.`,
        `Loss ${r.firstLoss?.toFixed(4)} -> ${r.lastLoss?.toFixed(4)}; ${describeShare(r.trainableParameters, total)}.`,
        ...Object.entries(r.metrics).map(
          ([split, m]) =>
            `${split}: ${Object.entries(m)
              .map(([k, v]) => `${k} ${v.toFixed(4)}`)
              .join(', ')}`,
        ),
        `Run folder: ${r.outDir}`,
      ].join('\n'),
  );
}

const ADAPT_HELP = `
MPT stage 3 adapts a distilled meta-prompt P* (a \`clinprompt distill\` run folder; without --meta, the
one shipped with the embedded backbone) to one target task: the task update u v starts from the source
tasks' updates (--init) and trains together with P* (--trained uv-shared, the default) or alone (uv).
It is \`clinprompt train --method mpt\`: the same run, run folder, resumption and --json summary.`;

const DISTILL_HELP = `
The meta-prompt P* starts as the mean of the teachers' prompts (every task update u_k v_k^T near all-ones).`;

export const registerTrainingCommands: RegisterCommands = (program, context) => {
  const trainCommand = program
    .command('train')
    .description(
      'Train a prompt (pt), LoRA adapter (lora) or the whole model (full), or adapt a meta-prompt (mpt), on a task; resumable',
    )
    .requiredOption('--method <name>', `training method: ${METHOD_NAMES.join(', ')}`);
  trainingOptions(trainCommand, METHOD_NAMES).action(async (flags: TrainFlags & { method: string }) => {
    if (!isMethodName(flags.method))
      throw new UserError('INVALID_ARGUMENT', `--method must be one of ${METHOD_NAMES.join(', ')}.`);
    await trainMethod(context, flags.method, flags);
  });

  const adaptCommand = program
    .command('adapt')
    .description('MPT stage 3: adapt a distilled meta-prompt to a target task (train --method mpt); resumable')
    .addHelpText('after', ADAPT_HELP);
  trainingOptions(adaptCommand, ['mpt']).action((flags: TrainFlags) => trainMethod(context, 'mpt', flags));

  const distillCommand = program
    .command('distill')
    .description('MPT stage 2: distil source-task teachers (prompt-tuning runs) into one meta-prompt and task updates')
    .addHelpText('after', DISTILL_HELP)
    .option('--backbone <dir>', 'backbone folder the teachers were trained on (default: the embedded backbone)')
    .requiredOption('--teachers <dirs...>', 'prompt-tuning run folders (stage 1), one per source task')
    .requiredOption('--data <sources...>', "the source tasks, in the teachers' order: dataset names or exported files")
    .requiredOption('--out <dir>', 'run folder of the meta-prompt; run again to resume')
    .option('--task <types...>', 'the task of each --data file, in order (ner, re, qa, nli, summarization)')
    .option('--provider <name>', `execution provider: ${PROVIDERS.join(', ')}`, provider, 'cpu');
  addSchemaOptions(distillCommand, TrainConfigSchema);
  addSchemaOptions(distillCommand, MptDistillConfigSchema as never, ['teachers']);
  distillCommand.action(
    async (
      flags: Omit<CommonFlags, 'data' | 'task'> & {
        teachers: string[];
        data: string[];
        task?: string[];
        out: string;
      } & Record<string, unknown>,
    ) => {
      const out = context.output;
      if (flags.teachers.length !== flags.data.length)
        throw new UserError(
          'INVALID_ARGUMENT',
          `Give one --data source per --teachers run (${flags.teachers.length} teachers, ${flags.data.length} sources).`,
        );
      const backbone = openBackbone(backboneOrDefault(flags.backbone));
      const backboneName = path.basename(backboneOrDefault(flags.backbone));
      const config = parseSchemaFlags(TrainConfigSchema, schemaValues(TrainConfigSchema, flags), 'Training');
      const method = createMethod(
        'mpt-distill',
        { ...schemaValues(MptDistillConfigSchema as never, flags), teachers: flags.teachers },
        { backbone, backboneName },
        flagOf,
      );
      const files = [...(flags.task ?? [])];
      const sources: TaskData[] = [];
      for (const source of flags.data) {
        const task = isDataFile(source) ? parseTaskType(files.shift() ?? missingTask(source)) : undefined;
        sources.push(await readTaskData(source, { ...(task && { task }), store: storeAccess(context) }));
      }
      out.note(
        `Distilling ${sources.length} source tasks: ${describeTrainables(method, backbone.parameters)} parameters.`,
      );
      const summary = await withInterruptSignal(out, (signal) =>
        trainRun({
          backbone,
          backboneName,
          method,
          config,
          data: sources,
          outDir: path.resolve(flags.out),
          provider: flags.provider,
          signal,
          onProgress: progressPrinter(out),
        }),
      );
      out.result(
        {
          steps: summary.steps,
          resumedFromStep: summary.resumedFromStep,
          trainableParameters: summary.trainableParameters,
          tasks: summary.tasks,
          wallSeconds: summary.wallSeconds,
          outDir: summary.outDir,
        },
        (r) =>
          [
            `Distilled ${r.tasks?.length ?? 0} tasks in ${r.steps} steps` +
              `${r.resumedFromStep > 0 ? ` (resumed at step ${r.resumedFromStep})` : ''} (${r.wallSeconds.toFixed(1)} s).`,
            formatTable(
              ['task', 'CE first -> last', 'KL first -> last', 'MSE first -> last'],
              (r.tasks ?? []).map((t) => [
                t.name,
                ...['ce', 'kl', 'mse'].map(
                  (k) => `${(t.parts.first[k] ?? NaN).toFixed(4)} -> ${(t.parts.last[k] ?? NaN).toFixed(4)}`,
                ),
              ]),
            ),
            `Meta-prompt: ${r.outDir}`,
          ].join('\n'),
      );
    },
  );

  program
    .command('runs')
    .description('Training runs recorded in the store')
    .command('list')
    .description('every recorded run, newest first: method, status, steps, last loss, dev metric')
    .action(async () => {
      const runs = listRuns(await context.store(), await context.session());
      context.output.result(runs, (rows) =>
        formatTable(
          ['id', 'kind', 'status', 'started', 'by', 'steps', 'last loss', 'dev'],
          rows.map((r) => [
            String(r.id),
            r.kind,
            r.status,
            r.startedAt,
            r.startedBy,
            String(r.steps),
            r.lastLoss?.toFixed(4) ?? '',
            r.dev?.toFixed(4) ?? '',
          ]),
        ),
      );
    });

  program
    .command('eval')
    .description('Evaluate a trained run (or, without --adapter, the untrained backbone) with 95% bootstrap intervals')
    .option('--backbone <dir>', 'backbone folder the run was trained on (default: the embedded backbone)')
    .requiredOption('--data <dataset|file>', 'a dataset in the store, or an exported .jsonl/.csv file (with --task)')
    .option(
      '--adapter <dir|file.cpack|pack:name>',
      'run folder (clinprompt train --out), PEFT adapter folder, trusted prompt pack file, or pack:<name>[@version] from the store; none = zero-shot baseline',
    )
    .option('--task <type>', 'the task a --data file holds: ner, re, qa, nli, summarization')
    .option('--split <name>', 'split to evaluate: train, dev or test', (v: string) => parseSplit(v), 'test')
    .option('--limit <n>', 'evaluate the first n examples only', positiveInt)
    .option('--out <dir>', 'where predictions and metrics go (default: the --adapter folder)')
    .option('--max-tokens <n>', 'new tokens per generated answer', positiveInt, 128)
    .option('--threads <n>', 'CPU threads (default: onnxruntime chooses)', positiveInt)
    .option('--provider <name>', `execution provider: ${PROVIDERS.join(', ')}`, provider, 'cpu')
    .action(
      async (
        flags: CommonFlags & {
          adapter?: string;
          split: Split;
          limit?: number;
          out?: string;
          maxTokens: number;
          threads?: number;
        },
      ) => {
        const outDir = flags.out ?? (flags.adapter && !isPackAdapter(flags.adapter) ? flags.adapter : undefined);
        if (!outDir)
          throw new UserError(
            'INVALID_ARGUMENT',
            'Without a run folder as --adapter, say where the predictions go with --out.',
          );
        const base = openBackbone(backboneOrDefault(flags.backbone));
        const { backbone, adapter } = flags.adapter
          ? await openAdapterSource(flags.adapter, base, { packs: () => storePacks(context) })
          : { backbone: base };
        const task = parseTaskType(flags.task);
        const data = await readTaskData(flags.data, { ...(task && { task }), store: storeAccess(context) });
        const examples = splitOf(data, flags.split).slice(0, flags.limit);
        const run = await evaluateExamples(backbone, adapter, data.task, examples, {
          provider: flags.provider,
          maxTokens: flags.maxTokens,
          ...(flags.threads !== undefined && { threads: flags.threads }),
        });
        const files = writeEvaluation(outDir, flags.split, run);
        if (flags.adapter && readRunRecord(flags.adapter))
          addRunMetrics(flags.adapter, { [flags.split]: { [run.metric]: run.value } });
        context.output.result(
          {
            split: flags.split,
            n: run.evaluation.n,
            metric: run.metric,
            value: run.value,
            metrics: run.evaluation.metrics,
            unparseable: run.evaluation.unparseable,
            predictions: files.predictions,
            metricsFile: files.metrics,
          },
          (r) =>
            [
              formatTable(
                ['metric', 'estimate', '95% interval'],
                Object.entries(r.metrics).map(([name, ci]) => [
                  name,
                  ci.estimate.toFixed(4),
                  `${ci.low.toFixed(4)} - ${ci.high.toFixed(4)}`,
                ]),
              ),
              `${r.n} ${r.split} examples, ${r.unparseable} unparseable. Predictions: ${r.predictions}`,
            ].join('\n'),
        );
      },
    );
};
