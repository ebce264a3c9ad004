/**
 * The in-memory path, for small sources and as the baseline of bench/import.ts; imports go through
 * stream-dataset.ts, which holds digests instead of examples.
 *
 * Reading a dataset from files into plain, validated examples: the chosen importer streams the
 * source, then splits are assigned (kept or seeded), duplicates removed, the label set collected
 * and leakage and balance reported. Nothing is written anywhere: the caller (services/datasets.ts)
 * hands the result to the store in one transaction, so a file that fails half-way imports nothing.
 */
import { UserError } from '../common/errors.js';
import type { Example, TaskType } from '../tasks/types.js';
import { importBioc } from './importers/bioc.js';
import { importBrat } from './importers/brat.js';
import { importConll } from './importers/conll.js';
import { importNotes } from './importers/notes.js';
import { importPubTator } from './importers/pubtator.js';
import { importCsv, importJsonl } from './importers/tabular.js';
import {
  assignSplits,
  balanceReport,
  deduplicate,
  drawDevFromTrain,
  leakageCheck,
  type BalanceReport,
  type LeakageReport,
} from './splits.js';
import { ImportNotices, type ImportOptions, type Importer, type RawExample } from './source.js';

export const IMPORT_FORMATS = {
  conll: importConll,
  brat: importBrat,
  bioc: importBioc,
  pubtator: importPubTator,
  jsonl: importJsonl,
  csv: importCsv,
  notes: importNotes,
} as const satisfies Record<string, Importer>;

export type ImportFormat = keyof typeof IMPORT_FORMATS;

export function isImportFormat(value: string): value is ImportFormat {
  return Object.hasOwn(IMPORT_FORMATS, value);
}

export interface ReadOptions extends Omit<ImportOptions, 'notices'> {
  /** Seed for splits drawn when the source has none. */
  readonly seed?: number;
  /** Share of train moved to dev when the source has no dev split (default 0: none). */
  readonly devFraction?: number;
}

export interface DatasetReport {
  readonly read: number;
  readonly duplicatesRemoved: number;
  /** Examples whose exact input came earlier in their split with another target (kept, once each). */
  readonly conflictingDuplicates: number;
  /** Up to 10 external ids of those examples. */
  readonly conflicts: readonly string[];
  /** What the importer left out on purpose, counted (e.g. relations with --task ner). */
  readonly notices: Readonly<Record<string, number>>;
  /** With --skip-bad-rows: the records skipped (file, line or record, problem; never its text), the first 1,000. */
  readonly skipped: readonly string[];
  /** How many records were skipped in all. */
  readonly skippedCount: number;
  readonly splitsDrawn: boolean;
  readonly leakage: LeakageReport;
  readonly balance: BalanceReport;
  readonly unlabelled: boolean;
}

export interface ReadDataset {
  readonly examples: Example[];
  readonly labelSet: string[];
  readonly report: DatasetReport;
}

const QA_LABEL_ORDER = ['yes', 'no', 'maybe'];

/** A dataset's label set in display order: yes/no/maybe first for QA, else alphabetical. */
export function sortLabels(task: TaskType, labels: Iterable<string>): string[] {
  const seen = [...labels];
  return task === 'qa'
    ? seen.sort(
        (a, b) => (QA_LABEL_ORDER.indexOf(a) + 1 || 99) - (QA_LABEL_ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b),
      )
    : seen.sort((a, b) => a.localeCompare(b));
}

export async function readDataset(format: ImportFormat, source: string, options: ReadOptions): Promise<ReadDataset> {
  const raw: RawExample[] = [];
  const notices = new ImportNotices();
  for await (const example of IMPORT_FORMATS[format](source, { ...options, notices })) raw.push(example);
  if (raw.length === 0) {
    throw new UserError(
      'BAD_FILE',
      `${source} holds no examples for --task ${options.task}. Check the path, format and mapping.`,
    );
  }
  const splitsDrawn = raw.some((e) => e.split === undefined);
  const seed = options.seed ?? 42;
  const split = drawDevFromTrain(assignSplits(raw, seed), options.devFraction ?? 0, seed);
  const { examples, removed, conflicting, conflicts } = deduplicate(split);
  const labelSet = sortLabels(options.task, new Set(examples.flatMap((e) => e.labels)));
  return {
    examples,
    labelSet,
    report: {
      read: raw.length,
      duplicatesRemoved: removed,
      conflictingDuplicates: conflicting,
      conflicts,
      notices: notices.counts,
      skipped: notices.skipped,
      skippedCount: notices.skippedCount,
      splitsDrawn,
      leakage: leakageCheck(examples),
      balance: balanceReport(examples, labelSet),
      unlabelled: examples.every((e) => e.target === null),
    },
  };
}
