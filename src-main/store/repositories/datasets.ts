/**
 * Datasets and their examples: what the importers (src-main/data) produce and what training and
 * evaluation read. An import is all-or-nothing: one IMMEDIATE transaction around every example, so
 * a crash or a bad example leaves no half dataset behind.
 *
 * `input` and `target` are task-specific JSON (text, question, premise...; gold spans, answer,
 * label...). `labels` lists the labels an example carries, for label counts and stratified splits.
 */
import { CancelledError, UserError } from '../../common/errors.js';
import { SPLITS, TASK_TYPES, isSplit, isTaskType, type Split, type TaskType } from '../../common/vocabulary.js';
import { asyncTransaction, insideOrNone } from '../async-transaction.js';
import type { Db } from '../sqlite.js';
import { fromJson, nowIso, rowId, toJson } from './rows.js';

export interface NewDataset {
  readonly name: string;
  readonly taskType: TaskType;
  /** e.g. 'conll', 'brat', 'bioc', 'pubtator', 'jsonl', 'csv'. */
  readonly sourceFormat: string;
  readonly labelSet: readonly string[];
  readonly meta?: Record<string, unknown>;
}

export interface NewExample {
  readonly split: Split;
  readonly externalId?: string;
  readonly input: unknown;
  readonly target: unknown;
  readonly labels: readonly string[];
}

export type SplitCounts = Record<Split, number> & { readonly total: number };

export interface ImportResult {
  readonly datasetId: number;
  readonly counts: SplitCounts;
}

/**
 * Yielded by a streamed source that must start over (its split decisions changed once it saw more
 * of the source): the examples written so far are dropped, inside the same transaction.
 */
export interface RestartImport {
  readonly restart: true;
}
export type StreamedExample = NewExample | RestartImport;

/** What a streamed import wrote, for the source to finish its dataset description with. */
export interface InsertedExamples {
  readonly datasetId: number;
  readonly counts: SplitCounts;
  /** Label occurrences per split, counted as the examples arrived. */
  readonly labelCounts: Record<Split, Record<string, number>>;
  /** The written examples of one split in order (read back from the open transaction). */
  scan(
    split: Split,
  ): Iterable<{ readonly position: number; readonly externalId: string | null; readonly input: unknown }>;
}

export interface StreamImportOptions {
  /** Cancels the import; everything written so far is rolled back. */
  readonly signal?: AbortSignal;
  /** Called every `progressEvery` examples (default 1,000) with the number written so far. */
  readonly onProgress?: (written: number) => void;
  readonly progressEvery?: number;
  /**
   * Called after the last example, still inside the transaction: the final label set and metadata
   * (e.g. a report only known at the end). Examples are checked against the final label set.
   */
  readonly finish?: (
    inserted: InsertedExamples,
  ) => Promise<Pick<NewDataset, 'labelSet' | 'meta'>> | Pick<NewDataset, 'labelSet' | 'meta'>;
}

export interface DatasetSummary {
  readonly id: number;
  readonly name: string;
  readonly taskType: TaskType;
  readonly sourceFormat: string;
  readonly labelSet: readonly string[];
  readonly meta: Record<string, unknown>;
  readonly createdAt: string;
  readonly counts: SplitCounts;
  /** How often each label occurs, per split (labels absent from a split are left out). */
  readonly labelCounts: Record<Split, Record<string, number>>;
}

export interface Example {
  readonly id: number;
  readonly split: Split;
  /** 0-based order of the example within its split, as imported. */
  readonly position: number;
  readonly externalId: string | null;
  readonly input: unknown;
  readonly target: unknown;
  readonly labels: readonly string[];
}

export interface ExampleQuery {
  readonly split?: Split;
  readonly limit?: number;
  readonly offset?: number;
}

interface DatasetRow {
  id: number;
  name: string;
  task_type: TaskType;
  source_format: string;
  label_set: string;
  meta: string;
  created_at: string;
}

interface ExampleRow {
  id: number;
  split: Split;
  position: number;
  external_id: string | null;
  input: string;
  target: string;
  labels: string;
}

const emptyCounts = (): { train: number; dev: number; test: number; total: number } => ({
  train: 0,
  dev: 0,
  test: 0,
  total: 0,
});

/** Writes one import's examples (inside its transaction), counting them per split and label. */
interface ExampleWriter {
  readonly datasetId: number;
  counts: ReturnType<typeof emptyCounts>;
  labelCounts: Record<Split, Record<string, number>>;
  write(example: NewExample): void;
  reset(): void;
}

/** The dataset a streamed import is writing on a connection: hidden from readers outside that import until it commits. */
const importing = new WeakMap<Db, number>();

export class DatasetsRepository {
  constructor(private readonly db: Db) {}

  /** Imports a dataset and all its examples in one transaction; returns its id and split sizes. */
  importDataset(meta: NewDataset, examples: Iterable<NewExample>): ImportResult {
    validateDataset(meta);
    return this.db
      .transaction((): ImportResult => {
        const writer = this.#startImport(meta);
        for (const example of examples) writer.write(example);
        return { datasetId: writer.datasetId, counts: writer.counts };
      })
      .immediate();
  }

  /** Inside a transaction: the dataset row (ALREADY_EXISTS if the name is taken) and a writer of its examples. */
  #startImport(meta: NewDataset): ExampleWriter {
    const db = this.db;
    if (this.#idByName(meta.name) !== undefined) {
      throw new UserError(
        'ALREADY_EXISTS',
        `A dataset named "${meta.name}" already exists. Choose another name or delete the old one first.`,
      );
    }
    const datasetId = rowId(
      db
        .prepare(
          `INSERT INTO datasets (name, task_type, source_format, label_set, meta, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(
          meta.name,
          meta.taskType,
          meta.sourceFormat,
          toJson(meta.labelSet, 'The label set'),
          toJson(meta.meta ?? {}, 'The dataset metadata'),
          nowIso(),
        ).lastInsertRowid,
    );
    const insertExample = db.prepare(
      `INSERT INTO examples (dataset_id, split, position, external_id, input, target, labels)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    const labelSet = new Set(meta.labelSet);
    const writer: ExampleWriter = {
      datasetId,
      counts: emptyCounts(),
      labelCounts: { train: {}, dev: {}, test: {} },
      /** Validates and writes one example (its position is the next in its split); counts it. */
      write(example: NewExample): void {
        const { counts } = writer;
        const where = `Example ${counts.total + 1}${example.externalId ? ` (id ${example.externalId})` : ''}`;
        validateExample(example, labelSet, where);
        insertExample.run(
          datasetId,
          example.split,
          counts[example.split],
          example.externalId ?? null,
          toJson(example.input, `${where}: input`),
          toJson(example.target, `${where}: target`),
          toJson(example.labels, `${where}: labels`),
        );
        const perLabel = writer.labelCounts[example.split];
        for (const label of example.labels) perLabel[label] = (perLabel[label] ?? 0) + 1;
        counts[example.split] += 1;
        counts.total += 1;
      },
      /** Drops every example written so far. */
      reset(): void {
        db.prepare('DELETE FROM examples WHERE dataset_id = ?').run(datasetId);
        writer.counts = emptyCounts();
        writer.labelCounts = { train: {}, dev: {}, test: {} };
      },
    };
    return writer;
  }

  /**
   * Imports a dataset whose examples arrive one by one (a file being parsed), in ONE IMMEDIATE
   * transaction that stays open while they stream (store/async-transaction.ts; a caller's
   * `performAsync` transaction is joined). Memory stays flat: each example is written when it
   * arrives, only counts are kept. Any error, a bad example or `signal` aborting rolls back all of it.
   */
  async importDatasetStream(
    meta: NewDataset,
    examples: AsyncIterable<StreamedExample>,
    options: StreamImportOptions = {},
  ): Promise<ImportResult & { readonly labelCounts: Record<Split, Record<string, number>> }> {
    validateDataset(meta);
    const db = this.db;
    const checkCancelled = (): void => {
      if (options.signal?.aborted) throw new CancelledError('The import was cancelled; nothing was imported.');
    };
    checkCancelled();
    return asyncTransaction(db, async () => {
      const writer = this.#startImport(meta);
      const { datasetId } = writer;
      importing.set(db, datasetId);
      try {
        return await this.#streamExamples(db, writer, examples, options, checkCancelled);
      } finally {
        importing.delete(db);
      }
    });
  }

  async #streamExamples(
    db: Db,
    writer: ExampleWriter,
    examples: AsyncIterable<StreamedExample>,
    options: StreamImportOptions,
    checkCancelled: () => void,
  ): Promise<ImportResult & { readonly labelCounts: Record<Split, Record<string, number>> }> {
    const { datasetId } = writer;
    const every = options.progressEvery ?? 1000;
    for await (const example of examples) {
      checkCancelled();
      if ('restart' in example) {
        writer.reset();
        continue;
      }
      writer.write(example);
      if (writer.counts.total % every === 0) options.onProgress?.(writer.counts.total);
    }
    const { counts, labelCounts } = writer;
    checkCancelled();
    if (options.finish) {
      const scanRows = db.prepare(
        'SELECT position, external_id AS externalId, input FROM examples WHERE dataset_id = ? AND split = ? ORDER BY position',
      );
      const final = await options.finish({
        datasetId,
        counts: { ...counts },
        labelCounts,
        *scan(split) {
          for (const row of scanRows.iterate(datasetId, split) as Iterable<{
            position: number;
            externalId: string | null;
            input: string;
          }>) {
            yield { position: row.position, externalId: row.externalId, input: fromJson(row.input) };
          }
        },
      });
      checkCancelled();
      const finalSet = new Set(final.labelSet);
      if (finalSet.size > 0) {
        const unknown = new Set(SPLITS.flatMap((s) => Object.keys(labelCounts[s]).filter((l) => !finalSet.has(l))));
        if (unknown.size > 0) {
          throw new UserError(
            'INVALID_ARGUMENT',
            `${unknown.size} label(s) of the examples are not in the dataset's label set (${[...finalSet].join(', ')}). ` +
              'Add them to the label set or fix the source file.',
          );
        }
      }
      db.prepare('UPDATE datasets SET label_set = ?, meta = ? WHERE id = ?').run(
        toJson(final.labelSet, 'The label set'),
        toJson(final.meta ?? {}, 'The dataset metadata'),
        datasetId,
      );
    }
    return { datasetId, counts, labelCounts };
  }

  list(): DatasetSummary[] {
    const rows = this.db.prepare('SELECT * FROM datasets ORDER BY id').all() as DatasetRow[];
    return rows.filter((row) => !this.#hidden(row.id)).map((row) => this.#summary(row));
  }

  /** A dataset by id (number) or name (string); NOT_FOUND if there is none. */
  get(idOrName: number | string): DatasetSummary {
    const row = (
      typeof idOrName === 'number'
        ? this.db.prepare('SELECT * FROM datasets WHERE id = ?').get(idOrName)
        : this.db.prepare('SELECT * FROM datasets WHERE name = ?').get(idOrName)
    ) as DatasetRow | undefined;
    if (!row || this.#hidden(row.id)) {
      throw new UserError(
        'NOT_FOUND',
        `No dataset ${typeof idOrName === 'number' ? `with id ${idOrName}` : `named "${idOrName}"`}. List them with \`clinprompt datasets list\`.`,
      );
    }
    return this.#summary(row);
  }

  /** One example of a dataset by its row id; NOT_FOUND if the dataset has no such example. */
  example(datasetId: number, exampleId: number): Example {
    this.#requireExists(datasetId);
    const row = this.db.prepare('SELECT * FROM examples WHERE dataset_id = ? AND id = ?').get(datasetId, exampleId) as
      ExampleRow | undefined;
    if (!row) throw new UserError('NOT_FOUND', `The dataset has no example with id ${exampleId}.`);
    return toExample(row);
  }

  /** Examples in import order (split, then position), optionally one split and one page. */
  examples(datasetId: number, query: ExampleQuery = {}): Example[] {
    this.#requireExists(datasetId);
    const limit = query.limit ?? -1; // SQLite: a negative LIMIT means no limit
    const offset = query.offset ?? 0;
    const rows = (
      query.split
        ? this.db
            .prepare(`SELECT * FROM examples WHERE dataset_id = ? AND split = ? ORDER BY position LIMIT ? OFFSET ?`)
            .all(datasetId, query.split, limit, offset)
        : this.db
            .prepare(
              `SELECT * FROM examples WHERE dataset_id = ?
               ORDER BY CASE split WHEN 'train' THEN 0 WHEN 'dev' THEN 1 ELSE 2 END, position LIMIT ? OFFSET ?`,
            )
            .all(datasetId, limit, offset)
    ) as ExampleRow[];
    return rows.map(toExample);
  }

  /**
   * Examples in import order, read `pageSize` at a time by keyset (split, position): no statement
   * stays open between pages, so a caller may await (write a file) between examples, and memory
   * holds one page.
   */
  *iterateExamples(datasetId: number, query: { split?: Split; pageSize?: number } = {}): Generator<Example> {
    this.#requireExists(datasetId);
    const pageSize = query.pageSize ?? 500;
    const page = this.db.prepare(
      'SELECT * FROM examples WHERE dataset_id = ? AND split = ? AND position > ? ORDER BY position LIMIT ?',
    );
    for (const split of query.split ? [query.split] : SPLITS) {
      for (let after = -1; ;) {
        const rows = page.all(datasetId, split, after, pageSize) as ExampleRow[];
        yield* rows.map(toExample);
        if (rows.length < pageSize) break;
        after = (rows.at(-1) as ExampleRow).position;
      }
    }
  }

  /**
   * Writes one example of a dataset that is built up a label at a time (labelled in the app): it
   * replaces the example of the same split and external id, or comes after the split's last one.
   * The dataset's `revision` counts these changes, so a run trained before them is not resumed.
   */
  putExample(datasetId: number, example: NewExample & { readonly externalId: string }): void {
    const summary = this.get(datasetId);
    validateExample(example, new Set(summary.labelSet), `Example (id ${example.externalId})`);
    const values = [
      toJson(example.input, 'The example input'),
      toJson(example.target, 'The example target'),
      toJson(example.labels, 'The example labels'),
    ];
    const updated = this.db
      .prepare(
        'UPDATE examples SET input = ?, target = ?, labels = ? WHERE dataset_id = ? AND split = ? AND external_id = ?',
      )
      .run(...values, datasetId, example.split, example.externalId).changes;
    if (updated === 0) {
      const next = this.db
        .prepare('SELECT coalesce(max(position) + 1, 0) FROM examples WHERE dataset_id = ? AND split = ?')
        .pluck()
        .get(datasetId, example.split) as number;
      this.db
        .prepare(
          `INSERT INTO examples (dataset_id, split, position, external_id, input, target, labels) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(datasetId, example.split, next, example.externalId, ...values);
    }
    this.#revise(summary);
  }

  /** Removes the example of a split with this external id (its last label was undone); no-op if absent. */
  removeExample(datasetId: number, split: Split, externalId: string): void {
    const summary = this.get(datasetId);
    this.db
      .prepare('DELETE FROM examples WHERE dataset_id = ? AND split = ? AND external_id = ?')
      .run(datasetId, split, externalId);
    this.#revise(summary);
  }

  /** Replaces the label set and metadata; refused when an example carries a label the new set lacks. */
  updateTask(datasetId: number, change: Pick<NewDataset, 'labelSet' | 'meta'>): void {
    const summary = this.get(datasetId);
    const used = new Set(SPLITS.flatMap((s) => Object.keys(summary.labelCounts[s])));
    const missing = [...used].filter((l) => !change.labelSet.includes(l));
    if (missing.length > 0)
      throw new UserError(
        'INVALID_ARGUMENT',
        `Examples of "${summary.name}" are labelled ${missing.join(', ')}: keep those labels in the label set or undo those labels first.`,
        { field: 'labels' },
      );
    this.db
      .prepare('UPDATE datasets SET label_set = ?, meta = ? WHERE id = ?')
      .run(toJson(change.labelSet, 'The label set'), toJson(change.meta ?? {}, 'The dataset metadata'), datasetId);
  }

  #revise(summary: DatasetSummary): void {
    const revision = typeof summary.meta['revision'] === 'number' ? summary.meta['revision'] : 0;
    this.db
      .prepare('UPDATE datasets SET meta = ? WHERE id = ?')
      .run(toJson({ ...summary.meta, revision: revision + 1 }, 'The dataset metadata'), summary.id);
  }

  /** Renames a dataset; NOT_FOUND if there is none, ALREADY_EXISTS if the new name is taken. */
  rename(datasetId: number, newName: string): void {
    this.#requireExists(datasetId);
    const holder = this.#idByName(newName);
    if (holder !== undefined && holder !== datasetId)
      throw new UserError('ALREADY_EXISTS', `A dataset named "${newName}" already exists. Choose another name.`);
    this.db.prepare('UPDATE datasets SET name = ? WHERE id = ?').run(newName, datasetId);
  }

  /** Deletes a dataset and its examples; NOT_FOUND if there is none. */
  delete(datasetId: number): void {
    this.#requireExists(datasetId);
    this.db.prepare('DELETE FROM datasets WHERE id = ?').run(datasetId);
  }

  /** A dataset still being imported, seen from outside that import. */
  #hidden(datasetId: number): boolean {
    return importing.get(this.db) === datasetId && !insideOrNone(this.db);
  }

  #idByName(name: string): number | undefined {
    return this.db.prepare('SELECT id FROM datasets WHERE name = ?').pluck().get(name) as number | undefined;
  }

  #requireExists(datasetId: number): void {
    this.get(datasetId);
  }

  #summary(row: DatasetRow): DatasetSummary {
    const counts = emptyCounts();
    const splitRows = this.db
      .prepare('SELECT split, count(*) AS n FROM examples WHERE dataset_id = ? GROUP BY split')
      .all(row.id) as { split: Split; n: number }[];
    for (const { split, n } of splitRows) {
      counts[split] = n;
      counts.total += n;
    }
    const labelCounts: Record<Split, Record<string, number>> = { train: {}, dev: {}, test: {} };
    const labelRows = this.db
      .prepare(
        `SELECT e.split AS split, l.value AS label, count(*) AS n
         FROM examples e, json_each(e.labels) l WHERE e.dataset_id = ? GROUP BY e.split, l.value ORDER BY l.value`,
      )
      .all(row.id) as { split: Split; label: string; n: number }[];
    for (const { split, label, n } of labelRows) labelCounts[split][label] = n;
    return {
      id: row.id,
      name: row.name,
      taskType: row.task_type,
      sourceFormat: row.source_format,
      labelSet: fromJson<string[]>(row.label_set),
      meta: fromJson<Record<string, unknown>>(row.meta),
      createdAt: row.created_at,
      counts,
      labelCounts,
    };
  }
}

function toExample(r: ExampleRow): Example {
  return {
    id: r.id,
    split: r.split,
    position: r.position,
    externalId: r.external_id,
    input: fromJson(r.input),
    target: fromJson(r.target),
    labels: fromJson<string[]>(r.labels),
  };
}

function validateDataset(meta: NewDataset): void {
  if (meta.name.trim() === '') throw new UserError('INVALID_ARGUMENT', 'A dataset needs a non-empty name.');
  if (!isTaskType(meta.taskType)) {
    throw new UserError(
      'INVALID_ARGUMENT',
      `Unknown task type "${String(meta.taskType)}"; expected one of ${TASK_TYPES.join(', ')}.`,
    );
  }
}

/** Checks one example; messages name the example's position and id, never its text. */
function validateExample(example: NewExample, labelSet: ReadonlySet<string>, where: string): void {
  if (!isSplit(example.split)) {
    throw new UserError('INVALID_ARGUMENT', `${where}: unknown split; expected one of ${SPLITS.join(', ')}.`);
  }
  if (!Array.isArray(example.labels) || example.labels.some((l) => typeof l !== 'string')) {
    throw new UserError('INVALID_ARGUMENT', `${where}: labels must be a list of strings.`);
  }
  if (labelSet.size > 0) {
    const unknown = example.labels.filter((l) => !labelSet.has(l)).length;
    if (unknown > 0) {
      // the offending values are not echoed: a malformed file may carry note text in a label column
      throw new UserError(
        'INVALID_ARGUMENT',
        `${where}: ${unknown} label(s) are not in the dataset's label set (${[...labelSet].join(', ')}). ` +
          'Add them to the label set or fix the source file.',
      );
    }
  }
}
