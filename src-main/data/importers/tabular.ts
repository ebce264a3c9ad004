/**
 * JSONL, JSON and CSV with a column mapping (mapping.ts). JSONL is read line by line; a `.json`
 * file may also be one array of records or an object of records keyed by id (streamed item by
 * item, json-stream.ts); CSV is parsed as a stream (csv-parse, RFC 4180 quoting, header row).
 * In a folder, the files whose names name a split (train/dev/test...) are imported, or the
 * preset's choice of files.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';

import { parse as parseCsv, type CsvError } from 'csv-parse';

import { UserError } from '../../common/errors.js';
import { streamJsonItems } from '../json-stream.js';
import { RowProblem, parseMapping, rowToExample, type Row } from '../mapping.js';
import { presetFor, type Preset } from '../presets.js';
import {
  badFile,
  cannotRead,
  isDirectory,
  listFiles,
  readLines,
  splitFromPath,
  type ImportOptions,
  type RawExample,
} from '../source.js';

interface SourceRow {
  readonly row: Row;
  readonly line: number;
  readonly key?: string;
}

/** A `.json` file may still be JSONL (MedMCQA's dev.json): its first line is then a whole object. */
async function isJsonLines(file: string): Promise<boolean> {
  for await (const line of readLines(file)) {
    if (line.text.trim() === '') continue;
    try {
      const first: unknown = JSON.parse(line.text);
      return first !== null && typeof first === 'object' && !Array.isArray(first);
    } catch {
      return false;
    }
  }
  return false;
}

async function* jsonRows(file: string): AsyncGenerator<SourceRow> {
  if (file.toLowerCase().endsWith('.json') && !(await isJsonLines(file))) {
    for await (const item of streamJsonItems(file)) {
      if (item.value === null || typeof item.value !== 'object' || Array.isArray(item.value)) {
        throw badFile(file, item.line, 'each record must be a JSON object');
      }
      yield { row: item.value as Row, line: item.line, ...(item.key !== undefined ? { key: item.key } : {}) };
    }
    return;
  }
  for await (const line of readLines(file)) {
    if (line.text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch {
      throw badFile(file, line.number, 'this line is not valid JSON (JSONL needs one JSON object per line)');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw badFile(file, line.number, 'each line must be a JSON object');
    }
    yield { row: value as Row, line: line.number };
  }
}

async function* csvRows(file: string): AsyncGenerator<SourceRow> {
  const parser = createReadStream(file).pipe(
    parseCsv({ columns: true, bom: true, skip_empty_lines: true, relax_quotes: false, info: true }),
  );
  try {
    for await (const record of parser as AsyncIterable<{ record: Row; info: { lines: number } }>) {
      yield { row: record.record, line: record.info.lines };
    }
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('CSV_')) {
      const csvError = error as CsvError & { lines?: number };
      throw badFile(file, csvError.lines, `malformed CSV (${csvError.code}); check quotes and the number of columns`);
    }
    throw cannotRead(file, error);
  }
}

async function filesToImport(
  source: string,
  extensions: readonly string[],
  preset: Preset | undefined,
): Promise<string[]> {
  if (!(await isDirectory(source))) return [source];
  const all = await listFiles(source, extensions);
  const names = all.map((f) => path.basename(f));
  const chosen = preset?.files
    ? preset.files(names)
    : names.filter((n, i) => splitFromPath(all[i] as string) !== undefined);
  const files = all.filter((f) => chosen.includes(path.basename(f)));
  if (files.length === 0) {
    throw new UserError(
      'BAD_FILE',
      `${source} holds no ${extensions.join('/')} files named after a split (train, dev, test). Import a single file instead.`,
    );
  }
  return files;
}

function tabularImporter(
  format: string,
  extensions: readonly string[],
  rows: (file: string) => AsyncGenerator<SourceRow>,
) {
  return async function* (source: string, options: ImportOptions): AsyncGenerator<RawExample> {
    const preset = presetFor(options.mapping, options.task);
    const mapping = preset ? {} : parseMapping(options.mapping, options.task);
    const folder = await isDirectory(source);
    for (const file of await filesToImport(source, extensions, preset)) {
      const fileSplit = options.split ?? (folder ? splitFromPath(file) : undefined);
      const prefix = folder ? `${path.basename(file)}:` : '';
      for await (const { row, line, key } of rows(file)) {
        let example: RawExample;
        try {
          const mapped = preset
            ? await preset.transform(row, { dir: path.dirname(file), ...(key !== undefined ? { key } : {}) })
            : row;
          if (mapped === undefined) continue;
          example = rowToExample(options.task, key !== undefined && !preset ? { id: key, ...mapped } : mapped, mapping);
        } catch (error) {
          if (error instanceof RowProblem) throw badFile(file, line, `${format} record: ${error.message}`);
          if (error instanceof SyntaxError) throw badFile(file, line, `${format} record: a field holds invalid JSON`);
          throw error;
        }
        const split = options.split ?? example.split ?? fileSplit;
        const externalId = example.externalId !== undefined ? `${prefix}${example.externalId}` : `${prefix}${line}`;
        yield { ...example, externalId, ...(split ? { split } : {}) };
      }
    }
  };
}

export const importJsonl = tabularImporter('JSON', ['.jsonl', '.ndjson', '.json', '.txt'], jsonRows);
export const importCsv = tabularImporter('CSV', ['.csv'], csvRows);
