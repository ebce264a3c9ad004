/**
 * The dataset use cases: import files into the encrypted store, list datasets, export one.
 * Importing streams: data/stream-dataset.ts parses the files and gives each example its split as it
 * is read, and the store writes it at once, inside ONE transaction that also takes the audit entry
 * (StoreSession.performAsync). Memory does not grow with the file's text; a malformed example
 * anywhere, a refused write or a cancellation rolls everything back, so nothing is half-imported.
 */
import path from 'node:path';
import { mkdir } from 'node:fs/promises';

import { UserError } from '../common/errors.js';
import { log } from '../common/log.js';
import type { ImportFormat } from '../common/vocabulary.js';
import { exportBrat, exportJsonl } from '../data/exporters.js';
import type { DatasetReport, ReadOptions } from '../data/read-dataset.js';
import { streamDataset } from '../data/stream-dataset.js';
import { kShotPerLabel, sampleKShot } from '../data/splits.js';
import {
  DatasetsRepository,
  type DatasetSummary,
  type Example as StoredExample,
  type SplitCounts,
} from '../store/repositories/datasets.js';
import { writeAuditedExport } from '../store/audited-export.js';
import type { Permission } from '../store/permissions.js';
import type { StoreSession } from '../store/session.js';
import type { Store } from '../store/store.js';
import { evaluate, type Evaluation } from '../tasks/evaluate.js';
import { frameExample, framePrompt, templateFor, type TaskConfig } from '../tasks/registry.js';
import type { Example, Split, TaskInput, TaskTarget } from '../tasks/types.js';

/** What to import and how to read it (ReadOptions: task, mapping, split, encoding, sheet, filters...). */
export interface ImportRequest extends ReadOptions {
  readonly format: ImportFormat;
  readonly path: string;
  readonly name: string;
  /** An edited instruction template for this dataset's task (checked, then kept with the dataset). */
  readonly template?: string;
  /** Cancels the import while it streams; nothing is kept (a CancelledError is thrown). */
  readonly signal?: AbortSignal;
}

export interface ImportOutcome {
  readonly datasetId: number;
  readonly name: string;
  readonly counts: SplitCounts;
  readonly labelSet: readonly string[];
  readonly report: DatasetReport;
}

/**
 * Checks that the session may import a source of `format` (and so see it before importing), and
 * returns the permission: plain notes (no labels) are what a clinician brings to run prompts over;
 * labelled data is a data scientist's.
 */
export function requireImport(session: StoreSession, format: ImportFormat): Permission {
  const permission = format === 'notes' ? 'notes.import' : 'datasets.import';
  session.require(permission, format === 'notes' ? 'import notes' : `import a ${format} dataset`);
  return permission;
}

export async function importDatasetFiles(
  store: Store,
  session: StoreSession,
  request: ImportRequest,
): Promise<ImportOutcome> {
  const permission = requireImport(session, request.format);
  // Fail before reading a large source; the store checks again inside its transaction.
  if (store.datasets.list().some((d) => d.name === request.name)) {
    throw new UserError('ALREADY_EXISTS', `A dataset named "${request.name}" already exists; choose another name.`, {
      field: 'name',
    });
  }
  const { format, path: source, name, template, signal, ...readOptions } = request;
  const stream = streamDataset(format, source, readOptions);
  // How it was read, to redo it (no note text: options, column names, file patterns).
  const how = Object.fromEntries(
    (['mapping', 'encoding', 'sheet', 'records', 'groupBy', 'include', 'exclude', 'skipBadRows', 'drawSplits'] as const)
      .filter((k) => readOptions[k] !== undefined)
      .map((k) => [k, readOptions[k]]),
  );
  const meta = {
    source: path.basename(source),
    ...how,
    seed: request.seed ?? 42,
    ...(template !== undefined ? { template } : {}),
  };
  let finished: { labelSet: string[]; report: DatasetReport } | undefined;
  const result = await session.performAsync(
    permission,
    'datasets.import',
    (db) =>
      new DatasetsRepository(db).importDatasetStream(
        { name, taskType: request.task, sourceFormat: format, labelSet: [], meta },
        stream.examples,
        {
          ...(signal ? { signal } : {}),
          // keeps the auto-lock from closing the store under a long import (throws LOCKED if it did)
          onProgress: () => void store.db,
          finish: (inserted) => {
            finished = stream.finish(inserted);
            if (template !== undefined) templateFor({ type: request.task, labels: finished.labelSet, template });
            return { labelSet: finished.labelSet, meta: { ...meta, report: finished.report } };
          },
        },
      ),
    (r) => ({
      objectType: 'dataset',
      objectIds: [r.datasetId],
      details: { name: request.name, format: request.format, task: request.task, examples: r.counts.total },
    }),
  );
  const { labelSet, report } = finished as { labelSet: string[]; report: DatasetReport };
  log.info('dataset-imported', {
    datasetId: result.datasetId,
    format: request.format,
    task: request.task,
    examples: result.counts.total,
    restarts: stream.restarts,
  });
  return { datasetId: result.datasetId, name: request.name, counts: result.counts, labelSet, report };
}

/** Deletes a dataset and its examples; audited. */
export function deleteDataset(store: Store, session: StoreSession, name: string): { name: string; examples: number } {
  session.require('datasets.delete', 'delete a dataset');
  const summary = store.datasets.get(name);
  session.perform(
    'datasets.delete',
    'datasets.delete',
    (db) => new DatasetsRepository(db).delete(summary.id),
    () => ({ objectType: 'dataset', objectIds: [summary.id], details: { name, examples: summary.counts.total } }),
  );
  log.info('dataset-deleted', { datasetId: summary.id });
  return { name, examples: summary.counts.total };
}

/** Renames a dataset (audited with both names; runs keep pointing at it by id). */
export function renameDataset(
  store: Store,
  session: StoreSession,
  name: string,
  newName: string,
): { name: string; newName: string } {
  const summary = store.datasets.get(name);
  const trimmed = newName.trim();
  if (trimmed === '') throw new UserError('INVALID_ARGUMENT', 'The new dataset name is empty.');
  session.perform(
    'datasets.import',
    'datasets.rename',
    (db) => new DatasetsRepository(db).rename(summary.id, trimmed),
    () => ({ objectType: 'dataset', objectIds: [summary.id], details: { from: name, to: trimmed } }),
  );
  log.info('dataset-renamed', { datasetId: summary.id });
  return { name, newName: trimmed };
}

export function listDatasets(store: Store, session: StoreSession): DatasetSummary[] {
  session.require('notes.read', 'list datasets');
  return store.datasets.list();
}

export const EXPORT_FORMATS = ['jsonl', 'brat'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** A stored example as the tasks layer's plain value (no row id or position). */
export function plainExample(e: StoredExample): Example {
  return {
    split: e.split,
    ...(e.externalId !== null ? { externalId: e.externalId } : {}),
    input: e.input as Example['input'],
    target: e.target as Example['target'],
    labels: e.labels,
  };
}

/** Writes a dataset's examples out of the store (a JSONL file, or a BRAT folder per split); audited. */
export interface ExportRequest {
  readonly name: string;
  readonly format: ExportFormat;
  readonly out: string;
  /** Only this split. */
  readonly split?: Split;
  /** A seeded k-shot draw instead of every example: k per label for closed-label tasks, else k. */
  readonly kShot?: { readonly k: number; readonly seed: number };
}

export async function exportDataset(
  store: Store,
  session: StoreSession,
  request: ExportRequest,
): Promise<{ examples: number; out: string }> {
  session.require('datasets.import', 'export a dataset');
  const summary = store.datasets.get(request.name);
  if (request.format === 'brat' && summary.taskType !== 'ner' && summary.taskType !== 're') {
    throw new UserError(
      'UNSUPPORTED',
      `BRAT holds NER and RE annotations; "${request.name}" is a ${summary.taskType} dataset. Export it as jsonl.`,
    );
  }
  const query = request.split ? { split: request.split } : {};
  const perLabel = kShotPerLabel(summary.taskType);
  // A whole export streams page by page; a k-shot draw shuffles, so it reads the split(s) it draws from.
  const examples = request.kShot
    ? sampleKShot(store.datasets.examples(summary.id, query).map(plainExample), { ...request.kShot, perLabel })
    : mapIterable(store.datasets.iterateExamples(summary.id, query), plainExample);
  // audited before the first byte exists, owner-only, never over an existing file (store/audited-export.ts)
  await mkdir(path.dirname(path.resolve(request.out)), { recursive: true });
  const count = await writeAuditedExport(
    {
      session,
      permission: 'datasets.import',
      action: 'datasets.export',
      target: request.out,
      folder: request.format === 'brat',
      record: {
        objectType: 'dataset',
        objectIds: [summary.id],
        details: {
          format: request.format,
          ...(request.split ? { split: request.split } : {}),
          ...(request.kShot ? { k: request.kShot.k, seed: request.kShot.seed } : {}),
        },
      },
    },
    (temp) => (request.format === 'jsonl' ? exportJsonl(examples, temp) : exportBrat(examples, temp)),
  );
  return { examples: count, out: request.out };
}

function* mapIterable<A, B>(items: Iterable<A>, f: (a: A) => B): Generator<B> {
  for (const item of items) yield f(item);
}

/** The task set-up a dataset trains with: its type, label set and template (the edited one if kept). */
export function taskConfigOf(summary: DatasetSummary): TaskConfig {
  const template = summary.meta['template'];
  return {
    type: summary.taskType,
    labels: summary.labelSet,
    ...(typeof template === 'string' ? { template } : {}),
  };
}

export interface FramedPreview {
  readonly externalId: string | null;
  readonly split: Split;
  readonly labels: readonly string[];
  /** The prompt the backbone sees, and the target it learns to generate (absent for unlabelled notes). */
  readonly prompt: string;
  readonly target?: string;
}

/** The first examples of a dataset framed as the backbone sees them; reading note text is audited. */
export function previewDataset(
  store: Store,
  session: StoreSession,
  request: { name: string; split?: Split; limit: number },
): { dataset: DatasetSummary; examples: FramedPreview[] } {
  session.require('notes.read', 'read dataset examples');
  const dataset = store.datasets.get(request.name);
  const config = taskConfigOf(dataset);
  const query = { limit: request.limit, ...(request.split ? { split: request.split } : {}) };
  const examples = store.datasets.examples(dataset.id, query).map((e): FramedPreview => {
    const input = e.input as TaskInput;
    const framed = e.target === null ? undefined : frameExample(config, input, e.target as TaskTarget);
    return {
      externalId: e.externalId,
      split: e.split,
      labels: e.labels,
      prompt: framed?.prompt ?? framePrompt(config, input),
      ...(framed ? { target: framed.target } : {}),
    };
  });
  session.record('notes.read', 'datasets.preview', {
    objectType: 'dataset',
    objectIds: [dataset.id],
    details: { examples: examples.length },
  });
  return { dataset, examples };
}

export interface ScoreOutcome {
  readonly dataset: string;
  readonly split: Split;
  readonly evaluation: Evaluation;
  /** Examples of the split with no prediction (scored as unparseable, i.e. wrong). */
  readonly missing: number;
}

/**
 * Scores outputs (by example id) against a split's gold targets with the task's metrics and
 * bootstrap intervals: the same evaluation a trained prompt gets, usable on any system's outputs.
 */
export function scorePredictions(
  store: Store,
  session: StoreSession,
  request: { name: string; split: Split; outputs: ReadonlyMap<string, string>; seed?: number },
): ScoreOutcome {
  session.require('runs.read', 'score predictions');
  const dataset = store.datasets.get(request.name);
  const examples = store.datasets.examples(dataset.id, { split: request.split }).filter((e) => e.target !== null);
  if (examples.length === 0) {
    throw new UserError('NOT_FOUND', `"${request.name}" has no labelled ${request.split} examples to score.`);
  }
  let missing = 0;
  const items = examples.map((e) => {
    const output = e.externalId === null ? undefined : request.outputs.get(e.externalId);
    if (output === undefined) missing++;
    return { input: e.input as TaskInput, target: e.target as TaskTarget, output: output ?? '' };
  });
  const evaluation = evaluate(taskConfigOf(dataset), items, { seed: request.seed ?? 13 });
  return { dataset: dataset.name, split: request.split, evaluation, missing };
}
