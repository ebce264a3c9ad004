/**
 * What every import shares, and the in-memory read path. `IMPORTERS` maps each format to its
 * importer; `ReadOptions` and `DatasetReport` are an import's settings and findings. `readDataset`
 * reads a whole source into plain, validated examples (splits kept or drawn, duplicates removed,
 * label set collected, leakage and balance reported) and writes nothing. Imports into the store go
 * through stream-dataset.ts, which holds digests instead of examples; this path is the baseline
 * bench/import-measure.ts (`memory`) measures the streaming one against.
 */
import { UserError } from '../common/errors.js';
import type { ImportFormat } from '../common/vocabulary.js';
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

/** One importer per format of common/vocabulary.ts (a format without one does not compile). */
export const IMPORTERS = {
  conll: importConll,
  brat: importBrat,
  bioc: importBioc,
  pubtator: importPubTator,
  jsonl: importJsonl,
  csv: importCsv,
  notes: importNotes,
} as const satisfies Record<ImportFormat, Importer>;

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
  for await (const example of IMPORTERS[format](source, { ...options, notices })) raw.push(example);
  if (raw.length === 0) {
    throw new UserError(
      'BAD_FILE',
      `${source} holds no ${options.task} examples. Check the path, format, task and mapping.`,
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
