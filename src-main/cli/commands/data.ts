/**
 * `clinprompt import <format> <path>`, `clinprompt datasets list`, `clinprompt datasets delete|rename`,
 * `clinprompt datasets export` and `clinprompt datasets catalogue`: annotated data into and out of the encrypted store. Thin: the
 * work is in services/datasets.ts.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { UserError } from '../../common/errors.js';
import {
  FOLDER_IMPORT_FORMATS,
  IMPORT_FORMATS,
  MAPPED_IMPORT_FORMATS,
  SPLITS,
  TASK_TYPES,
  isImportFormat,
  type Split,
} from '../../common/vocabulary.js';
import { SOURCE_TASKS, importCommand, shellQuote } from '../../data/catalogue.js';
import { NOTES_DEFAULT_TASK, NOTES_SPLIT_REASON } from '../../data/importers/notes.js';
import type { ReadOptions } from '../../data/read-dataset.js';
import {
  EXPORT_FORMATS,
  deleteDataset,
  renameDataset,
  exportDataset,
  importDatasetFiles,
  listDatasets,
  type ExportFormat,
  type FramedPreview,
  type ImportOutcome,
  previewDataset,
  scorePredictions,
  type ScoreOutcome,
} from '../../services/datasets.js';
import type { DatasetSummary } from '../../store/repositories/datasets.js';
import { TASKS } from '../../tasks/registry.js';
import type { RegisterCommands } from '../context.js';
import { badFile, readLines } from '../../data/source.js';
import { withInterruptSignal } from '../jobs.js';
import { collect, parseSplit, parseTaskType } from '../options.js';
import { formatTable } from '../output.js';

function parseFraction(value: string): number {
  const fraction = Number(value);
  if (!(fraction > 0 && fraction < 1)) {
    throw new UserError('INVALID_ARGUMENT', `--dev-from-train must be a fraction between 0 and 1 (got "${value}").`);
  }
  return fraction;
}

function parseSeed(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seed = Number(value);
  if (!Number.isInteger(seed) || seed < 0)
    throw new UserError('INVALID_ARGUMENT', `--seed must be a non-negative integer (got "${value}").`);
  return seed;
}

async function readTemplate(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    throw new UserError('NOT_FOUND', `--template: cannot read ${file}. Give the path of a text file.`);
  }
}

function renderPreview({ dataset, examples }: { dataset: DatasetSummary; examples: readonly FramedPreview[] }): string {
  const blocks = examples.map((e) =>
    [
      `--- ${e.externalId ?? '(no id)'} (${e.split}; ${e.labels.join(', ') || 'no labels'})`,
      e.prompt,
      ...(e.target !== undefined ? [`[target]${e.target}`] : []),
    ].join('\n'),
  );
  return [
    `${dataset.name}: ${dataset.taskType}, template ${dataset.meta['template'] ? 'edited' : 'default'}`,
    ...blocks,
  ].join('\n');
}

async function readPredictions(file: string): Promise<Map<string, string>> {
  const outputs = new Map<string, string>();
  for await (const line of readLines(file)) {
    if (line.text.trim() === '') continue;
    let row: { id?: unknown; output?: unknown };
    try {
      row = JSON.parse(line.text) as { id?: unknown; output?: unknown };
    } catch {
      throw badFile(file, line.number, 'this line is not valid JSON');
    }
    if ((typeof row.id !== 'string' && typeof row.id !== 'number') || typeof row.output !== 'string') {
      throw badFile(file, line.number, 'each line needs "id" (the example id) and "output" (text)');
    }
    outputs.set(String(row.id), row.output);
  }
  return outputs;
}

function renderScore(o: ScoreOutcome): string {
  const e = o.evaluation;
  const rows = Object.entries(e.metrics).map(([metric, ci]) => [
    metric,
    ci.estimate.toFixed(4),
    `${ci.low.toFixed(4)} - ${ci.high.toFixed(4)}`,
  ]);
  return [
    `${o.dataset} (${o.split}): ${e.n} examples, ${e.unparseable} unreadable output(s)${o.missing > 0 ? `, ${o.missing} without a prediction` : ''}.`,
    formatTable(['metric', 'score', '95% CI'], rows),
  ].join('\n');
}

function renderImport(o: ImportOutcome & { format: string }): string {
  const r = o.report;
  const lines = [
    `Imported "${o.name}" (id ${o.datasetId}): ${o.counts.train} train, ${o.counts.dev} dev, ${o.counts.test} test.`,
    `Labels: ${o.labelSet.length > 0 ? o.labelSet.join(', ') : '(none)'}.`,
  ];
  if (o.format === 'notes') lines.push(NOTES_SPLIT_REASON);
  else if (r.splitsDrawn) lines.push('Some examples had no split; they were split with the seed.');
  if (r.duplicatesRemoved > 0) lines.push(`Removed ${r.duplicatesRemoved} exact duplicate(s).`);
  if (r.conflictingDuplicates > 0) {
    lines.push(
      `Conflict: ${r.conflictingDuplicates} example(s) repeat an earlier input of their split with a different label; each label was kept once. Check: ${r.conflicts.join(', ')}.`,
    );
  }
  for (const [what, count] of Object.entries(r.notices)) lines.push(`Note: ${count} ${what}.`);
  if (r.skippedCount > 0) {
    const more = r.skippedCount - r.skipped.length;
    lines.push(
      `Skipped ${r.skippedCount} malformed record(s) (--skip-bad-rows):`,
      ...r.skipped.map((s) => `  ${s}`),
      ...(more > 0 ? [`  ... and ${more} more`] : []),
    );
  }
  const leaks = r.leakage.trainDev + r.leakage.trainTest + r.leakage.devTest;
  if (leaks > 0) {
    lines.push(
      `Warning: ${leaks} input(s) occur in more than one split (train/dev ${r.leakage.trainDev}, train/test ${r.leakage.trainTest}, dev/test ${r.leakage.devTest}); e.g. ${r.leakage.examples.slice(0, 3).join(', ')}.`,
    );
  }
  if (Number.isFinite(r.balance.imbalanceRatio) && r.balance.imbalanceRatio > 10) {
    lines.push(`Warning: the most frequent label is ${r.balance.imbalanceRatio.toFixed(0)}x the rarest in train.`);
  }
  return lines.join('\n');
}

function renderList(datasets: readonly DatasetSummary[]): string {
  if (datasets.length === 0)
    return 'No datasets yet. Import one with `clinprompt import <format> <path> --task <type> --name <name>`.';
  const table = formatTable(
    ['id', 'name', 'task', 'format', 'train', 'dev', 'test'],
    datasets.map((d) => [
      String(d.id),
      d.name,
      d.taskType,
      d.sourceFormat,
      String(d.counts.train),
      String(d.counts.dev),
      String(d.counts.test),
    ]),
  );
  const labels = datasets
    .filter((d) => d.labelSet.length > 0)
    .map((d) => {
      const counts = d.labelSet
        .map((l) => `${l} ${d.labelCounts.train[l] ?? 0}/${d.labelCounts.dev[l] ?? 0}/${d.labelCounts.test[l] ?? 0}`)
        .join(', ');
      return `${d.name} labels (train/dev/test): ${counts}`;
    });
  return [table, '', ...labels].join('\n');
}

export const registerDataCommands: RegisterCommands = (program, context) => {
  program
    .command('import <format> <path>')
    .description(
      `Import annotated data into the encrypted store. Formats: ${IMPORT_FORMATS.join(', ')} (${FOLDER_IMPORT_FORMATS.join(', ')}: a folder; csv also reads .xlsx workbooks). ` +
        'A folder imports its files, with splits taken from their names (train/dev/test) or folders; so does a single file named after a split.',
    )
    .option('--task <type>', `task type: ${TASK_TYPES.join(', ')} (notes need none)`)
    .requiredOption('--name <name>', 'a new dataset name')
    .option(
      '--mapping <spec>',
      `${MAPPED_IMPORT_FORMATS.join('/')}: field=column pairs, e.g. "premise=Statement,label=Label"; or preset:<id> (pubmedqa, nli4ct, evidence-inference)`,
    )
    .option(
      '--split <split>',
      `put every example in this split (${SPLITS.join(', ')}); default: from the source, else drawn 80/10/10`,
    )
    .option('--seed <n>', 'seed for drawn splits (default 42)')
    .option('--draw-splits', 'ignore train/dev/test in file and folder names and draw splits with the seed')
    .option(
      '--dev-from-train <fraction>',
      'when the source has no dev split, move this share of train to dev (e.g. 0.1)',
    )
    .option('--group-by <column>', 'jsonl/csv: rows with the same value in this column land in the same drawn split')
    .option(
      '--include <glob>',
      'folders: import only files matching this pattern (repeatable, e.g. "*.csv")',
      collect,
      [],
    )
    .option(
      '--exclude <glob>',
      'folders: leave out files matching this pattern (repeatable, e.g. "*metadata*")',
      collect,
      [],
    )
    .option(
      '--encoding <name>',
      'encoding of files without a byte-order mark: utf-8 (default), windows-1252, latin1, utf-16le',
    )
    .option('--replace-invalid', 'import bytes that are invalid in the encoding as U+FFFD instead of refusing the file')
    .option('--sheet <name>', 'spreadsheets (.xlsx): the sheet to read, by name or number (default the first)')
    .option('--records <key>', 'json: the top-level key whose list holds the records, e.g. --records questions')
    .option('--skip-bad-rows', 'import what parses and list each malformed record skipped (default: import nothing)')
    .option('--template <file>', 'an edited instruction template for the task (see `datasets show --help`)')
    .action(
      async (
        format: string,
        source: string,
        options: {
          task?: string;
          name: string;
          mapping?: string;
          split?: string;
          seed?: string;
          template?: string;
          devFromTrain?: string;
          groupBy?: string;
          include: string[];
          exclude: string[];
          encoding?: string;
          replaceInvalid?: boolean;
          sheet?: string;
          records?: string;
          skipBadRows?: boolean;
          drawSplits?: boolean;
        },
      ) => {
        if (!isImportFormat(format)) {
          throw new UserError(
            'INVALID_ARGUMENT',
            `Unknown format "${format}"; use one of ${IMPORT_FORMATS.join(', ')}.`,
          );
        }
        const task = parseTaskType(options.task ?? (format === 'notes' ? NOTES_DEFAULT_TASK : undefined));
        if (task === undefined) {
          throw new UserError('INVALID_ARGUMENT', `Give --task: one of ${TASK_TYPES.join(', ')}.`);
        }
        const split = parseSplit(options.split);
        const seed = parseSeed(options.seed);
        const session = await context.session();
        const template = options.template !== undefined ? await readTemplate(options.template) : undefined;
        const store = await context.store();
        const chosen = {
          mapping: options.mapping,
          groupBy: options.groupBy,
          encoding: options.encoding,
          sheet: options.sheet,
          records: options.records,
          replaceInvalid: options.replaceInvalid,
          skipBadRows: options.skipBadRows,
          drawSplits: options.drawSplits,
          include: options.include.length > 0 ? options.include : undefined,
          exclude: options.exclude.length > 0 ? options.exclude : undefined,
        };
        const outcome = await withInterruptSignal(context.output, (signal) =>
          importDatasetFiles(store, session, {
            signal,
            format,
            path: path.resolve(source),
            task,
            name: options.name,
            ...(Object.fromEntries(Object.entries(chosen).filter(([, v]) => v !== undefined)) as Partial<ReadOptions>),
            ...(split ? { split } : {}),
            ...(seed !== undefined ? { seed } : {}),
            ...(options.devFromTrain !== undefined ? { devFraction: parseFraction(options.devFromTrain) } : {}),
            ...(template !== undefined ? { template } : {}),
          }),
        );
        context.output.result({ ...outcome, format }, renderImport);
      },
    );

  const datasets = program.command('datasets').description('Datasets in the encrypted store');

  datasets
    .command('list')
    .description('List datasets with their example counts per split and label counts per split')
    .action(async () => {
      const session = await context.session();
      context.output.result(listDatasets(await context.store(), session), renderList);
    });

  datasets
    .command('delete <name>')
    .description('Delete a dataset and its examples from the store (audited; needs the datasets.delete permission)')
    .action(async (name: string) => {
      const session = await context.session();
      const result = deleteDataset(await context.store(), session, name);
      context.output.result(result, (r) => `Deleted "${r.name}" and its ${r.examples} example(s).`);
    });

  datasets
    .command('rename <name> <new-name>')
    .description('Rename a dataset (audited; needs the datasets.import permission)')
    .action(async (name: string, newName: string) => {
      const session = await context.session();
      const result = renameDataset(await context.store(), session, name, newName);
      context.output.result(result, (r) => `Renamed "${r.name}" to "${r.newName}".`);
    });

  datasets
    .command('export <name> <out>')
    .description(`Export a dataset: jsonl writes one file; brat writes <out>/<split>/<id>.txt + .ann (NER and RE)`)
    .option('--format <format>', `${EXPORT_FORMATS.join(' or ')}`, 'jsonl')
    .option('--split <split>', `only this split (${SPLITS.join(', ')})`)
    .option('--k <n>', 'a seeded k-shot draw: k examples per label (QA, NLI, RE), else k examples')
    .option('--seed <n>', 'seed of the k-shot draw (default 0)')
    .action(
      async (name: string, out: string, options: { format: string; split?: string; k?: string; seed?: string }) => {
        if (!(EXPORT_FORMATS as readonly string[]).includes(options.format)) {
          throw new UserError(
            'INVALID_ARGUMENT',
            `--format must be ${EXPORT_FORMATS.join(' or ')} (got "${options.format}").`,
          );
        }
        const session = await context.session();
        const split = parseSplit(options.split);
        const k = options.k === undefined ? undefined : Number(options.k);
        if (k !== undefined && (!Number.isInteger(k) || k < 1)) {
          throw new UserError('INVALID_ARGUMENT', `--k must be a positive integer (got "${options.k}").`);
        }
        const result = await exportDataset(await context.store(), session, {
          name,
          format: options.format as ExportFormat,
          out: path.resolve(out),
          ...(split ? { split } : {}),
          ...(k !== undefined ? { kShot: { k, seed: parseSeed(options.seed) ?? 0 } } : {}),
        });
        context.output.result(result, (r) => `Exported ${r.examples} example(s) to ${r.out}.`);
      },
    );

  datasets
    .command('show <name>')
    .description(
      'Show the first examples framed as the backbone sees them: the instruction template filled in, and the target text. ' +
        'Templates use {{field}} and optional {{#field}}...{{/field}} sections; edit one and pass it to `import --template`. ' +
        `Fields: ${TASK_TYPES.map((t) => `${t}: ${TASKS[t].knownFields.join(', ')}`).join('; ')}.`,
    )
    .option('--split <split>', `only this split (${SPLITS.join(', ')})`)
    .option('--limit <n>', 'how many examples (default 3)', '3')
    .action(async (name: string, options: { split?: string; limit: string }) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1) {
        throw new UserError('INVALID_ARGUMENT', `--limit must be a positive integer (got "${options.limit}").`);
      }
      const split = parseSplit(options.split);
      const session = await context.session();
      const preview = previewDataset(await context.store(), session, { name, limit, ...(split ? { split } : {}) });
      context.output.result(preview, renderPreview);
    });

  datasets
    .command('score <name> <predictions>')
    .description(
      'Score outputs against the gold targets of a split with the task metrics and 95% bootstrap intervals. ' +
        '<predictions> is JSONL: {"id": <example id>, "output": <generated text>} per line; ' +
        'unreadable or missing outputs count as wrong.',
    )
    .option('--split <split>', `which split (${SPLITS.join(', ')})`, 'test')
    .option('--seed <n>', 'bootstrap seed (default 13)')
    .action(async (name: string, predictions: string, options: { split: string; seed?: string }) => {
      const split = parseSplit(options.split) as Split;
      const seed = parseSeed(options.seed);
      const outputs = await readPredictions(predictions);
      const session = await context.session();
      const outcome = scorePredictions(await context.store(), session, {
        name,
        split,
        outputs,
        ...(seed !== undefined ? { seed } : {}),
      });
      context.output.result(outcome, renderScore);
    });

  datasets
    .command('catalogue [shared-data-dir]')
    .description('The public source tasks and the command that imports each (default folder: ../shared/data)')
    .action((dir: string | undefined) => {
      const root = path.resolve(dir ?? path.join('..', 'shared', 'data'));
      const entries = SOURCE_TASKS.map((t) => ({
        ...t,
        command: ['clinprompt', ...importCommand(t, root)].map(shellQuote).join(' '),
      }));
      context.output.result(entries, (list) =>
        list.map((t) => `${t.name} (${t.task}; ${t.title}; ${t.expected})\n  ${t.command}`).join('\n'),
      );
    });
};
