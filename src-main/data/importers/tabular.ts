/**
 * JSONL, JSON, CSV and Excel workbooks with a column mapping (mapping.ts). JSONL is read line by
 * line; a `.json` file may also be one array of records, an object of records keyed by id, or
 * records under a top-level key (`{"questions": [...]}`, with `--records questions`), streamed item
 * by item (json-stream.ts); CSV is parsed as a stream (csv-parse, RFC 4180 quoting, header row);
 * an `.xlsx` workbook (recognised by its bytes, whatever its name) is read with read-excel-file,
 * first sheet or `--sheet`, header row first. A file's name, or its folder's, gives its split
 * (train/dev/test...); in a folder, the files that name a split are imported, or the preset's
 * choice of files. `--group-by <column>` keeps rows with the same value in one drawn split.
 * `firstRows` reads a source's first rows the same way, unmapped, for the app's preview.
 */
import { Readable } from 'node:stream';
import path from 'node:path';

import { parse as parseCsv, type CsvError } from 'csv-parse';
import readXlsxFile from 'read-excel-file/node';

import { UserError, nodeErrorCode } from '../../common/errors.js';
import { streamJsonItems } from '../json-stream.js';
import { RowProblem, parseMapping, rowToExample, type Row } from '../mapping.js';
import { presetFor, type Preset } from '../presets.js';
import {
  badFile,
  cannotRead,
  isDirectory,
  listFiles,
  noFiles,
  readChunks,
  readLines,
  readText,
  recordOrSkip,
  skipOrThrow,
  fileSplit,
  splitFromPath,
  structural,
  WorkbookNotText,
  type ImportOptions,
  type Place,
  type RawExample,
} from '../source.js';

/**
 * A JSON file whose records sit in a list under a top-level key that was not given. The file is
 * fine: the `records` setting is missing, so the error names that setting and each front end puts
 * its own words first (`--records: ...`, "Records key: ..."). `key` is the file's own key, for the
 * app's preview to fill the setting in; the message names it only when it is shaped like one.
 */
export class RecordsUnderKey extends UserError {
  constructor(
    file: string,
    readonly key: string,
  ) {
    const shown = structural(key);
    super(
      'INVALID_ARGUMENT',
      `The records of ${file} sit in a list under ${shown ? `its top-level key "${shown}"` : 'a top-level key'}: give that key`,
      { field: 'records' },
    );
  }
}

/** The `records` setting names a key under which the file holds no records (a typo, or the wrong file). */
export class NoRecordsUnderKey extends UserError {
  constructor(file: string, key: string) {
    const shown = structural(key);
    super('INVALID_ARGUMENT', `${file} has no records under ${shown ? `the key "${shown}"` : 'that key'}`, {
      field: 'records',
    });
  }
}

interface SourceRow {
  readonly row: Row;
  /** Line (or row) number: the example's id when it has none. */
  readonly line: number;
  readonly place: Place;
  readonly key?: string;
}

/**
 * A `.json` file may still be JSONL (MedMCQA's dev.json): its first line is a whole object and
 * more lines follow. (A one-line file is read as JSON: one record, keyed records or a wrapper.)
 */
async function isJsonLines(file: string, options: ImportOptions): Promise<boolean> {
  let first = true;
  for await (const line of readLines(file, options)) {
    if (line.text.trim() === '') continue;
    if (!first) return true;
    first = false;
    try {
      const value: unknown = JSON.parse(line.text);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    } catch {
      return false;
    }
  }
  return false;
}

const isRecord = (value: unknown): value is Row => value !== null && typeof value === 'object' && !Array.isArray(value);

const isListOfRecords = (value: unknown): boolean => Array.isArray(value) && value.length > 0 && value.every(isRecord);

/** A JSON file that is a single record (small by nature: read whole). */
async function* oneRecord(file: string, options: ImportOptions): AsyncGenerator<SourceRow> {
  let value: unknown;
  try {
    value = JSON.parse(await readText(file, options));
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw badFile(file, undefined, 'the file is not valid JSON');
  }
  yield { row: value as Row, line: 1, place: { record: 'record 1' } };
}

async function* jsonRows(file: string, options: ImportOptions): AsyncGenerator<SourceRow> {
  if (options.records !== undefined || (file.toLowerCase().endsWith('.json') && !(await isJsonLines(file, options)))) {
    const arrayKey = options.records !== undefined ? { arrayKey: options.records } : {};
    // A root object holds records keyed by id, or records in a list under a key (--records), or
    // is itself one record (its members are fields: no record among them).
    let firstField: Place | undefined;
    let items = 0;
    for await (const item of streamJsonItems(file, { ...options, ...arrayKey })) {
      items++;
      const place = { line: item.line, record: `record ${item.index}`, byte: item.byte };
      if (isListOfRecords(item.value) && item.key !== undefined) throw new RecordsUnderKey(file, item.key);
      const field = !isRecord(item.value) && item.key !== undefined;
      if (field) firstField ??= place;
      if (!isRecord(item.value) && !field) {
        skipOrThrow(options, badFile(file, place, 'each record must be a JSON object'));
        continue;
      }
      if (isRecord(item.value) && firstField) throw badFile(file, firstField, 'each record must be a JSON object');
      if (isRecord(item.value)) {
        yield { row: item.value, line: item.line, place, ...(item.key !== undefined ? { key: item.key } : {}) };
      }
    }
    // A mistyped key would otherwise import nothing and say nothing.
    if (items === 0 && options.records !== undefined) throw new NoRecordsUnderKey(file, options.records);
    if (firstField) yield* oneRecord(file, options);
    return;
  }
  for await (const line of readLines(file, options)) {
    if (line.text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch {
      skipOrThrow(
        options,
        badFile(file, line.number, 'this line is not valid JSON (JSONL needs one JSON object per line)'),
      );
      continue;
    }
    if (!isRecord(value)) {
      skipOrThrow(options, badFile(file, line.number, 'each line must be a JSON object'));
      continue;
    }
    yield { row: value, line: line.number, place: { line: line.number } };
  }
}

/** csv-parse's error codes in words (its messages can quote the row, so they are never shown). */
const CSV_PROBLEMS: Record<string, string> = {
  CSV_RECORD_INCONSISTENT_COLUMNS: 'this row has a different number of columns than the header row',
  CSV_RECORD_INCONSISTENT_FIELDS_LENGTH: 'this row has a different number of columns than the rows before it',
  CSV_QUOTE_NOT_CLOSED: 'a quoted field opened here is never closed',
  CSV_INVALID_CLOSING_QUOTE: 'a quote inside a quoted field is not doubled ("")',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'characters follow the closing quote of a field',
  CSV_INVALID_OPENING_QUOTE: 'a quote appears inside an unquoted field',
  INVALID_OPENING_QUOTE: 'a quote appears inside an unquoted field',
  CSV_OPTION_COLUMNS_MISSING_NAME: 'the header row has an empty column name',
  CSV_INVALID_COLUMN_MAPPING: 'the header row names the same column twice',
  CSV_MAX_RECORD_SIZE: 'a field is too long (an unclosed quote?)',
};

function csvProblem(error: CsvError & { lines?: number }, file: string) {
  const problem = CSV_PROBLEMS[error.code] ?? 'malformed CSV; check quotes and the number of columns';
  return badFile(file, error.lines, problem);
}

async function* csvRows(file: string, options: ImportOptions): AsyncGenerator<SourceRow> {
  try {
    yield* textCsvRows(file, options);
  } catch (error) {
    // An .xlsx workbook, whatever its name, is read as the spreadsheet it is.
    if (!(error instanceof WorkbookNotText && error.kind === 'xlsx')) throw error;
    yield* workbookRows(file, options);
  }
}

async function* textCsvRows(file: string, options: ImportOptions): AsyncGenerator<SourceRow> {
  const parser = parseCsv({
    // A column named twice would silently lose one of them.
    columns: (header: string[]) => {
      const twice = header.find((name, i) => name !== '' && header.indexOf(name) !== i);
      if (twice !== undefined) {
        throw badFile(
          file,
          1,
          `the header row names ${structural(twice) ? `the column "${twice}"` : 'a column'} twice`,
        );
      }
      return header;
    },
    bom: true,
    skip_empty_lines: true,
    relax_quotes: false,
    info: true,
    skip_records_with_error: options.skipBadRows === true,
    on_skip: (error) => {
      if (error) {
        const problem = csvProblem(error as CsvError & { lines?: number }, file);
        options.notices?.skip(problem);
      }
    },
  });
  // pipe() does not pass a read error on (bad bytes, a workbook): hand it to the parser's iterator.
  const text = Readable.from(readChunks(file, options));
  text.on('error', (error) => parser.destroy(error));
  text.pipe(parser);
  try {
    for await (const record of parser as AsyncIterable<{ record: Row; info: { lines: number } }>) {
      yield { row: record.record, line: record.info.lines, place: { line: record.info.lines } };
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    // File-system errors carry Node's codes (ENOENT, EACCES); anything else came from the parser.
    if (/^E[A-Z]+$/.test(nodeErrorCode(error) ?? 'E')) throw cannotRead(file, error);
    throw csvProblem(error as CsvError, file);
  } finally {
    text.destroy();
  }
}

/** A cell as text: dates as ISO 8601, numbers and booleans as written. */
function cellValue(cell: unknown): unknown {
  return cell instanceof Date ? cell.toISOString() : cell;
}

/** The rows of one sheet of an .xlsx workbook (first sheet, or `--sheet` by name or number), header row first. */
async function* workbookRows(file: string, options: ImportOptions): AsyncGenerator<SourceRow> {
  let sheets: Awaited<ReturnType<typeof readXlsxFile>>;
  try {
    sheets = await readXlsxFile(file);
  } catch (error) {
    if (nodeErrorCode(error) !== undefined) throw cannotRead(file, error);
    throw badFile(file, undefined, 'this Excel workbook cannot be read (damaged, or protected with a password)');
  }
  const wanted = options.sheet;
  const index = wanted === undefined ? 0 : /^\d+$/.test(wanted) ? Number(wanted) - 1 : -1;
  const sheet = index >= 0 ? sheets[index] : sheets.find((s) => s.sheet === wanted);
  if (!sheet) {
    const names = sheets.map((s) => structural(s.sheet) ?? '(unnamed)').join(', ');
    throw new UserError(
      'INVALID_ARGUMENT',
      `--sheet: ${file} has no sheet ${structural(wanted) ?? 'by that name'}; its sheets are ${names} (or give a number from 1 to ${sheets.length}).`,
    );
  }
  const [header, ...rows] = sheet.data;
  if (!header) return;
  const names = header.map((cell, i) => (cell === null || cell === '' ? `column ${i + 1}` : String(cellValue(cell))));
  const where = `sheet ${structural(sheet.sheet) ?? index + 1}`;
  for (const [i, cells] of rows.entries()) {
    if (cells.every((c) => c === null || c === '')) continue;
    const row = Object.fromEntries(names.map((name, c) => [name, cellValue(cells[c] ?? null) ?? '']));
    yield { row, line: i + 2, place: { record: `${where}, row ${i + 2}` } };
  }
}

async function filesToImport(
  source: string,
  extensions: readonly string[],
  preset: Preset | undefined,
  options: ImportOptions,
): Promise<string[]> {
  if (!(await isDirectory(source))) return [source];
  const all = await listFiles(source, extensions, options);
  const names = all.map((f) => path.basename(f));
  const chosen = preset?.files
    ? preset.files(names)
    : names.filter((n, i) => splitFromPath(all[i] as string) !== undefined);
  const files = all.filter((f) => chosen.includes(path.basename(f)));
  if (files.length === 0) {
    throw noFiles(
      source,
      `${extensions.join('/')} files named after a split (train, dev, test); import a single file instead,`,
      options,
    );
  }
  return files;
}

/** A tabular format: its name in messages, the file names a folder import reads, and its row reader. */
interface TabularFormat {
  readonly name: string;
  readonly extensions: readonly string[];
  readonly rows: (file: string, options: ImportOptions) => AsyncGenerator<SourceRow>;
}

const JSON_FORMAT: TabularFormat = { name: 'JSON', extensions: ['.jsonl', '.ndjson', '.json', '.txt'], rows: jsonRows };
const CSV_FORMAT: TabularFormat = { name: 'CSV', extensions: ['.csv', '.xlsx'], rows: csvRows };

function tabularImporter({ name: format, extensions, rows }: TabularFormat) {
  return async function* (source: string, options: ImportOptions): AsyncGenerator<RawExample> {
    const preset = presetFor(options.mapping, options.task);
    const mapping = preset ? {} : parseMapping(options.mapping, options.task);
    const folder = await isDirectory(source);
    // Only the import's very first row can show a wrong mapping: after one row read, a missing column is the file's.
    let first = true;
    for (const file of await filesToImport(source, extensions, preset, options)) {
      const nameSplit = fileSplit(file, options);
      const prefix = folder ? `${path.basename(file)}:` : '';
      for await (const { row, line, place, key } of rows(file, options)) {
        const firstRow = first;
        first = false;
        const example = await recordOrSkip(options, async () => {
          try {
            const mapped = preset
              ? await preset.transform(row, { dir: path.dirname(file), ...(key !== undefined ? { key } : {}) })
              : row;
            if (mapped === undefined) return undefined;
            const example = rowToExample(
              options.task,
              key !== undefined && !preset ? { id: key, ...mapped } : mapped,
              mapping,
            );
            return { example, group: groupOf(row, options.groupBy, file, place) };
          } catch (error) {
            // A column the first row lacks is the mapping's fault, not the file's.
            if (error instanceof RowProblem && error.absentField !== undefined && firstRow && !preset) {
              throw unmappedField(error.absentField, file, options);
            }
            if (error instanceof RowProblem) throw badFile(file, place, `${format} record: ${error.message}`);
            if (error instanceof SyntaxError)
              throw badFile(file, place, `${format} record: a field holds invalid JSON`);
            throw error;
          }
        });
        if (!example) continue;
        const split = options.split ?? example.example.split ?? nameSplit;
        const id = example.example.externalId ?? String(line);
        yield {
          ...example.example,
          externalId: `${prefix}${id}`,
          ...(example.group !== undefined ? { group: example.group } : {}),
          ...(split ? { split } : {}),
        };
      }
    }
  };
}

/**
 * A task field the mapping does not name and the file has no column for: the mapping is wrong, not
 * the file. The file's column names are not quoted: a CSV without a header row has note text there.
 */
function unmappedField(field: string, file: string, options: ImportOptions): UserError {
  const mapped = parseMapping(options.mapping, options.task)[field]?.join('|');
  return new UserError(
    'INVALID_ARGUMENT',
    mapped !== undefined
      ? `${path.basename(file)} has no column "${mapped}" for the ${field} field. Fix the column mapping: name the file's column that holds the ${field}.`
      : `The mapping does not say which column holds the ${field} field, and ${path.basename(file)} has no column named ${field}. Add ${field}=COLUMN to the column mapping, COLUMN being the file's column that holds it.`,
    { field: 'mapping' },
  );
}

/** The `--group-by` column's value of a row (a missing column is an error: a typo would silently group nothing). */
function groupOf(row: Row, column: string | undefined, file: string, place: Place): string | undefined {
  if (column === undefined) return undefined;
  const value = row[column];
  if (value === undefined) {
    throw new UserError(
      'INVALID_ARGUMENT',
      `--group-by: ${file} has no column "${column}"; its columns are ${Object.keys(row)
        .map((k) => structural(k) ?? '(a long name)')
        .join(', ')}.`,
    );
  }
  if (value === null || value === '') throw badFile(file, place, `the --group-by column "${column}" is empty`);
  return `${column}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`;
}

export const importJsonl = tabularImporter(JSON_FORMAT);
export const importCsv = tabularImporter(CSV_FORMAT);

/**
 * The first `limit` rows of the first file an import would read, as the file has them (no mapping
 * applied), read by the import's own file choice and row readers: what the column mapping picks from.
 */
export async function firstRows(
  format: 'jsonl' | 'csv',
  source: string,
  options: ImportOptions,
  limit: number,
): Promise<{ file: string; rows: Row[] }> {
  const { extensions, rows } = format === 'csv' ? CSV_FORMAT : JSON_FORMAT;
  const [file] = await filesToImport(source, extensions, presetFor(options.mapping, options.task), options);
  const found: Row[] = [];
  for await (const { row, key } of rows(file as string, options)) {
    // As the import reads it: a record keyed by id has that id.
    found.push(key !== undefined ? { id: key, ...row } : row);
    if (found.length >= limit) break;
  }
  return { file: file as string, rows: found };
}
