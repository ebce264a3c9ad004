/**
 * What a source holds, before it is imported: its first records as a table, read by the import's
 * own readers. A JSONL/CSV file read without a preset gives its rows unmapped, under the file's own
 * columns (what a column mapping picks from); every other source gives its first examples as its
 * importer reads them (the input's fields and the target as the task writes it). Reading stops
 * after `limit` records; nothing is written.
 */
import { UserError } from '../common/errors.js';
import type { ImportFormat } from '../common/vocabulary.js';
import { taskDefinition } from '../tasks/registry.js';
import type { TaskTarget } from '../tasks/types.js';
import { firstRows } from './importers/tabular.js';
import { isNativeRow, type Row } from './mapping.js';
import { presetFor } from './presets.js';
import { IMPORTERS } from './read-dataset.js';
import { ImportNotices, type ImportOptions } from './source.js';

export interface SourcePreview {
  /** The file the rows come from (a folder's first file to import), or the folder itself. */
  readonly file: string;
  readonly columns: readonly string[];
  /** Each row's cells in column order, as text. */
  readonly rows: readonly (readonly string[])[];
  /** Whether the columns are the file's own, for a column mapping to pick from. */
  readonly mappable: boolean;
}

/** A longer cell is cut here: a preview shows what a column holds, not whole notes. */
export const PREVIEW_CELL_CHARS = 400;

export async function previewSource(
  format: ImportFormat,
  source: string,
  options: ImportOptions,
  limit: number,
): Promise<SourcePreview> {
  if ((format === 'jsonl' || format === 'csv') && !presetFor(options.mapping, options.task)) {
    const { file, rows } = await firstRows(format, source, options, limit);
    if (rows.length === 0) throw new UserError('BAD_FILE', `${file} holds no rows. Check the path and the format.`);
    // ClinPrompt's own { input, target } rows need no mapping: shown as the importer reads them
    if (!rows.every(isNativeRow)) return table(file, rows, true);
  }
  const serialize = taskDefinition(options.task).serializeTarget as (target: TaskTarget) => string;
  const rows: Row[] = [];
  for await (const example of IMPORTERS[format](source, { ...options, notices: new ImportNotices() })) {
    rows.push({
      id: example.externalId ?? '',
      split: example.split ?? '',
      ...example.input,
      target: example.target === null ? '' : serialize(example.target),
    });
    if (rows.length >= limit) break;
  }
  if (rows.length === 0) {
    throw new UserError('BAD_FILE', `${source} holds no ${options.task} examples. Check the path, format and task.`);
  }
  return table(source, rows, false);
}

/** Rows as a table: every column any row has, in the order first met; cells as text. */
function table(file: string, rows: readonly Row[], mappable: boolean): SourcePreview {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  return { file, columns, rows: rows.map((row) => columns.map((c) => cut(cellText(row[c])))), mappable };
}

function cellText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map(cellText).join(' | ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value as string | number | boolean);
}

const cut = (text: string) => (text.length > PREVIEW_CELL_CHARS ? `${text.slice(0, PREVIEW_CELL_CHARS)}…` : text);
