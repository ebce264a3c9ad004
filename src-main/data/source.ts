/**
 * What every importer shares: the raw example it yields, malformed-input errors that name the
 * file, where in it (line, or record / element path and byte offset for single-line files) and
 * the problem (never note text: only values shaped like structure, see `named`), decoding files
 * (encodings, BOMs, invalid bytes), line-by-line streaming, what an import skipped or ignored,
 * and finding files and their split in a dataset folder.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { TextDecoder } from 'node:util';

import picomatch from 'picomatch';

import { UserError, nodeErrorCode } from '../common/errors.js';
import type { Split, TaskInput, TaskTarget, TaskType } from '../tasks/types.js';
import type { MappingSpec } from './mapping.js';

/** An example as an importer reads it; the split is filled in later when the source has none. */
export interface RawExample<T extends TaskType = TaskType> {
  readonly split?: Split;
  readonly externalId?: string;
  /** Examples of one group (a document, a sentence, a `--group-by` value) are drawn into one split. */
  readonly group?: string;
  readonly input: TaskInput<T>;
  readonly target: TaskTarget<T> | null;
  readonly labels: readonly string[];
}

/** How a file's bytes become text. */
export interface Decoding {
  /** The encoding when the file has no byte-order mark (default utf-8), e.g. windows-1252. */
  readonly encoding?: string;
  /** Turn bytes that are invalid in the encoding into U+FFFD instead of refusing the file. */
  readonly replaceInvalid?: boolean;
}

export interface ImportOptions extends Decoding {
  readonly task: TaskType;
  /** Puts every example in this split, whatever the source says. */
  readonly split?: Split;
  /** Ignore train/dev/test in file and folder names: draw splits with the seed instead. */
  readonly drawSplits?: boolean;
  /** Column/field mapping for JSONL and CSV (see mapping.ts). */
  readonly mapping?: MappingSpec;
  /** Spreadsheets: the sheet to read (name or 1-based number; default the first). */
  readonly sheet?: string;
  /** JSON: the top-level key whose list holds the records (`{"questions": [...]}`). */
  readonly records?: string;
  /** JSONL/CSV: the column whose value keeps examples together when splits are drawn. */
  readonly groupBy?: string;
  /** Folders: only files whose path (relative to the folder) matches one of these globs. */
  readonly include?: readonly string[];
  /** Folders: leave out files whose path matches one of these globs. */
  readonly exclude?: readonly string[];
  /** Import what parses and list each record that did not, instead of refusing the whole source. */
  readonly skipBadRows?: boolean;
  /** Where importers count what they ignored or skipped (one per pass over the source). */
  readonly notices?: ImportNotices;
}

export type Importer = (source: string, options: ImportOptions) => AsyncIterable<RawExample>;

/** Where in a file a problem lies. Single-line files (BioC, JSON) get a record and a byte offset. */
export interface Place {
  /** 1-based. */
  readonly line?: number;
  /** A record number, element path or document id, e.g. `document 123 > passage 2 > annotation 5`. */
  readonly record?: string;
  /** 0-based byte offset into the file. */
  readonly byte?: number;
}

function describePlace(file: string, place: number | Place | undefined): string {
  const p: Place = typeof place === 'number' ? { line: place } : (place ?? {});
  return [
    file,
    ...(p.line !== undefined ? [`line ${p.line}`] : []),
    ...(p.record !== undefined ? [p.record] : []),
    ...(p.byte !== undefined ? [`byte ${p.byte}`] : []),
  ].join(', ');
}

/** A malformed-input error: where (file, line or record) and the problem, which `--skip-bad-rows` can list. */
export class FileProblem extends UserError {
  constructor(
    readonly where: string,
    readonly problem: string,
  ) {
    super('BAD_FILE', `${where}: ${problem}. Fix the file and import again; nothing was imported.`);
  }
}

export function badFile(file: string, place: number | Place | undefined, problem: string): FileProblem {
  return new FileProblem(describePlace(file, place), problem);
}

/** Values shaped like structure (ids, type names, column names): one token, no spaces, short. */
const STRUCTURE = /^[\p{L}\p{N}_.:|;+/#*-]{1,64}$/u;

/**
 * `kind value` when the value is shaped like an id or type name, else `the kind`: a malformed line
 * can put note text where an id belongs, and messages must never carry note text.
 */
export function named(kind: string, value: string | undefined): string {
  return value !== undefined && STRUCTURE.test(value) ? `${kind} ${value}` : `the ${kind}`;
}

/** A value shaped like structure, quoted, or undefined (see `named`). */
export function structural(value: string | undefined): string | undefined {
  return value !== undefined && STRUCTURE.test(value) ? value : undefined;
}

export function unsupportedTask(format: string, task: TaskType, supported: readonly TaskType[]): UserError {
  return new UserError(
    'UNSUPPORTED',
    `The ${format} format holds ${supported.join('/')} annotations, not ${task}: choose ${supported.join(' or ')}, or another format.`,
    { field: 'task' },
  );
}

/** The notice for relation annotations that `--task ner` does not read. */
export const IGNORED_FOR_NER = 'relation annotations ignored (--task ner reads mentions only)';

/**
 * What an import left out without failing: counted notices (relations ignored for `--task ner`,
 * relations whose concept has no mention) and, with `--skip-bad-rows`, each skipped record.
 */
export class ImportNotices {
  readonly counts: Record<string, number> = {};
  /** The first MAX_SKIPPED_LISTED skipped records, "where: problem". */
  readonly skipped: string[] = [];
  skippedCount = 0;

  count(what: string, n = 1): void {
    if (n > 0) this.counts[what] = (this.counts[what] ?? 0) + n;
  }

  skip(problem: FileProblem): void {
    this.skippedCount++;
    if (this.skipped.length < MAX_SKIPPED_LISTED) this.skipped.push(`${problem.where}: ${problem.problem}`);
  }
}

/** Skipped records listed one by one (a badly broken file could have millions: the rest are counted). */
export const MAX_SKIPPED_LISTED = 1000;

/**
 * Runs `parse` for one record: a malformed record is listed and skipped under `--skip-bad-rows`
 * (undefined), else its error stands (the all-or-nothing rule).
 */
export async function recordOrSkip<T>(options: ImportOptions, parse: () => T | Promise<T>): Promise<T | undefined> {
  try {
    return await parse();
  } catch (error) {
    skipOrThrow(options, error);
    return undefined;
  }
}

/** Lists a malformed record under `--skip-bad-rows`; otherwise (or for any other error) throws it. */
export function skipOrThrow(options: ImportOptions, error: unknown): void {
  if (!options.skipBadRows || !(error instanceof FileProblem)) throw error;
  options.notices?.skip(error);
}

export interface Line {
  readonly text: string;
  /** 1-based. */
  readonly number: number;
}

const BOMS: readonly [number[], string][] = [
  [[0xef, 0xbb, 0xbf], 'utf-8'],
  [[0xff, 0xfe], 'utf-16le'],
  [[0xfe, 0xff], 'utf-16be'],
];

/** A TextDecoder for `encoding`, or INVALID_ARGUMENT naming --encoding. */
function decoderFor(encoding: string, fatal: boolean): TextDecoder {
  try {
    return new TextDecoder(encoding, { fatal });
  } catch {
    throw new UserError(
      'INVALID_ARGUMENT',
      `--encoding: "${encoding}" is not an encoding this reader knows. Use utf-8, utf-16le, utf-16be, windows-1252 or latin1.`,
    );
  }
}

/** The encoding a file is read in: its byte-order mark's, else the chosen one, else UTF-8. */
function sniffEncoding(head: Buffer, chosen: string | undefined): string {
  for (const [bom, encoding] of BOMS) if (bom.every((b, i) => head[i] === b)) return encoding;
  return chosen ?? 'utf-8';
}

/**
 * Counts the bytes behind decoded text, to report byte offsets in one-line files: give it to
 * readChunks, then `add` each UTF-16 code unit in order (a surrogate pair is 2 + 2 in UTF-8).
 * `bytes` is the offset of the next unit, counting the byte-order mark.
 */
export class ByteCounter {
  bytes = 0;
  #width: (codeUnit: number) => number = utf8Width;

  /** Called by readChunks once it knows the encoding. */
  start(encoding: string, bomBytes: number): void {
    this.bytes = bomBytes;
    this.#width = encoding.startsWith('utf-16') ? () => 2 : encoding === 'utf-8' ? utf8Width : () => 1;
  }

  add(codeUnit: number): number {
    const at = this.bytes;
    this.bytes += this.#width(codeUnit);
    return at;
  }
}

const utf8Width = (u: number) => (u < 0x80 ? 1 : u < 0x800 || (u >= 0xd800 && u <= 0xdfff) ? 2 : 3);

/** Excel workbooks (.xlsx is a ZIP, .xls an OLE2 compound file) sent where text is expected. */
export function workbookKind(head: Buffer): 'xlsx' | 'xls' | undefined {
  if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) return 'xlsx';
  if (head.subarray(0, 8).equals(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]))) return 'xls';
  return undefined;
}

/** A workbook given where a text file was expected (CSV reads .xlsx instead; others refuse it). */
export class WorkbookNotText extends FileProblem {
  constructor(
    file: string,
    readonly kind: 'xlsx' | 'xls',
  ) {
    super(
      file,
      kind === 'xls'
        ? 'this is an Excel 97-2003 workbook (.xls), which cannot be read directly: save it as .xlsx or CSV in Excel'
        : 'this is an Excel workbook, not a text file: import it with "import csv" (workbooks are read directly, first sheet or --sheet)',
    );
  }
}

/**
 * Streams a file as decoded text chunks without reading it whole. A byte-order mark picks UTF-8
 * or UTF-16 (and is dropped); otherwise `encoding` (default UTF-8). Bytes invalid in the encoding
 * are refused with the file and line (never silently turned into U+FFFD) unless `replaceInvalid`.
 */
export async function* readChunks(
  file: string,
  decoding: Decoding = {},
  counter?: ByteCounter,
): AsyncGenerator<string> {
  const stream = createReadStream(file, { highWaterMark: 1 << 16 });
  stream.on('error', () => undefined); // surfaced by the iterator below
  let decoder: TextDecoder | undefined;
  let encoding = '';
  let newlines = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (!decoder) {
        const workbook = workbookKind(chunk);
        if (workbook) throw new WorkbookNotText(file, workbook);
        encoding = sniffEncoding(chunk, decoding.encoding);
        decoder = decoderFor(encoding, !decoding.replaceInvalid);
        counter?.start(
          encoding,
          BOMS.find(([bom, e]) => e === encoding && bom.every((b, i) => chunk[i] === b))?.[0].length ?? 0,
        );
      }
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        throw invalidBytes(file, newlines, chunk, encoding);
      }
      newlines += countNewlines(text);
      if (text !== '') yield text;
    }
    const rest = decoder?.decode() ?? '';
    if (rest !== '') yield rest;
  } catch (error) {
    if (error instanceof UserError) throw error;
    if (error instanceof TypeError && decoder) throw invalidBytes(file, newlines, Buffer.alloc(0), encoding);
    throw cannotRead(file, error);
  } finally {
    stream.destroy();
  }
}

function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function invalidBytes(file: string, newlinesBefore: number, chunk: Buffer, encoding: string): FileProblem {
  // Locate the first bad byte in this chunk: a lenient decode marks it with U+FFFD.
  const lenient = new TextDecoder(encoding).decode(chunk);
  const at = lenient.indexOf('\uFFFD');
  const line = newlinesBefore + 1 + (at < 0 ? 0 : countNewlines(lenient.slice(0, at)));
  const hint =
    encoding === 'utf-8'
      ? 'if the file comes from a Windows or Latin-1 system, give --encoding windows-1252; or give --replace-invalid to import such bytes as U+FFFD'
      : 'give the right --encoding, or --replace-invalid to import such bytes as U+FFFD';
  return badFile(file, line, `the file holds bytes that are not valid ${encoding} (${hint})`);
}

/** A whole (small) file as text, decoded as readChunks does. */
export async function readText(file: string, decoding: Decoding = {}): Promise<string> {
  let text = '';
  for await (const chunk of readChunks(file, decoding)) text += chunk;
  return text;
}

/** Streams a file's lines (LF or CRLF), decoded as readChunks does. */
export async function* readLines(file: string, decoding: Decoding = {}): AsyncGenerator<Line> {
  let pending = '';
  let number = 0;
  for await (const chunk of readChunks(file, decoding)) {
    pending += chunk;
    let from = 0;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n', from)) {
      const end = nl > from && pending[nl - 1] === '\r' ? nl - 1 : nl;
      yield { text: pending.slice(from, end), number: ++number };
      from = nl + 1;
    }
    pending = pending.slice(from);
  }
  if (pending !== '') yield { text: pending.endsWith('\r') ? pending.slice(0, -1) : pending, number: number + 1 };
}

export function cannotRead(file: string, error: unknown): UserError {
  const code = nodeErrorCode(error);
  if (code === 'ENOENT') return new UserError('NOT_FOUND', `${file} does not exist. Check the path.`);
  if (code === 'EACCES' || code === 'EPERM') {
    return new UserError('PERMISSION_DENIED', `${file} cannot be read (permission denied).`);
  }
  if (code === 'EISDIR') return new UserError('BAD_FILE', `${file} is a folder; give a file.`);
  return new UserError('BAD_FILE', `${file} cannot be read (${code ?? 'unknown error'}).`);
}

export async function isDirectory(source: string): Promise<boolean> {
  try {
    return (await stat(source)).isDirectory();
  } catch (error) {
    throw cannotRead(source, error);
  }
}

/** Which files of a folder an import reads besides their extension: `--include` / `--exclude` globs. */
export interface FileFilter {
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
}

/** Whether `relative` (a path inside the imported folder, `/`-separated) passes the filter. */
function passes(relative: string, filter: FileFilter): boolean {
  const matches = (globs: readonly string[]) => picomatch(globs as string[], { basename: true, dot: true })(relative);
  if (filter.include && filter.include.length > 0 && !matches(filter.include)) return false;
  return !(filter.exclude && filter.exclude.length > 0 && matches(filter.exclude));
}

/**
 * Files under a folder (recursively, sorted, hidden files skipped) whose names end with one of
 * `extensions` and that pass `filter` (globs match the path inside the folder, or the name alone).
 */
export async function listFiles(
  dir: string,
  extensions: readonly string[],
  filter: FileFilter = {},
): Promise<string[]> {
  const found: string[] = [];
  const walk = async (current: string): Promise<void> => {
    const entries = await readdir(current, { withFileTypes: true });
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (
        extensions.some((ext) => entry.name.toLowerCase().endsWith(ext)) &&
        passes(path.relative(dir, full).split(path.sep).join('/'), filter)
      )
        found.push(full);
    }
  };
  try {
    await walk(dir);
  } catch (error) {
    throw cannotRead(dir, error);
  }
  return found;
}

/** The message for a folder with no file to import: what was looked for, and the filter that applied. */
export function noFiles(source: string, what: string, filter: FileFilter): UserError {
  const filters = [
    ...(filter.include?.length ? [`--include ${filter.include.join(' ')}`] : []),
    ...(filter.exclude?.length ? [`--exclude ${filter.exclude.join(' ')}`] : []),
  ];
  return new UserError(
    'BAD_FILE',
    `${source} holds no ${what}${filters.length > 0 ? ` that pass ${filters.join(' and ')}` : ''}. Check the path${filters.length > 0 ? ' and the patterns' : ''}.`,
  );
}

/**
 * The files to import: the file itself, or the matching files of a folder (BAD_FILE if none).
 * With `splitNamedFirst`, a folder whose files name splits (train.tsv, devel.tsv) imports only
 * those, so a README.txt or LICENSE.txt beside them is not read as data.
 */
export async function sourceFiles(
  source: string,
  extensions: readonly string[],
  format: string,
  filter: FileFilter,
  splitNamedFirst = false,
): Promise<string[]> {
  if (!(await isDirectory(source))) return [source];
  const all = await listFiles(source, extensions, filter);
  const named = all.filter((f) => splitFromPath(f) !== undefined);
  const files = splitNamedFirst && named.length > 0 ? named : all;
  if (files.length === 0) throw noFiles(source, `${format} files (${extensions.join(', ')})`, filter);
  return files;
}

/** The split of the examples in `file`: the chosen one, else the one its name or folders give (unless drawn). */
export function fileSplit(file: string, options: ImportOptions, root?: string): Split | undefined {
  return options.split ?? (options.drawSplits ? undefined : splitFromPath(file, root));
}

const SPLIT_WORDS: readonly [RegExp, Split][] = [
  [/(^|[^a-z])(train|training)([^a-z]|$)/, 'train'],
  [/(^|[^a-z])(dev|devel|development|valid|validation|val)([^a-z]|$)/, 'dev'],
  [/(^|[^a-z])(test|testing|gold_test|testset)([^a-z]|$)/, 'test'],
];

/**
 * The split a file's name or folders name (`train.tsv`, `Train/DrugBank/x.ann`,
 * `MTS-Dialog-ValidationSet.csv`), looking from the file name up; undefined if none does.
 */
export function splitFromPath(file: string, root?: string): Split | undefined {
  const relative = root ? path.relative(root, file) : path.basename(file);
  const parts = relative.split(/[\\/]/).reverse();
  for (const part of parts) {
    const name = part
      .toLowerCase()
      .replace(/\.[a-z0-9]+$/, '')
      .replace(/(set)(?=[^a-z]|$)/g, '');
    for (const [pattern, split] of SPLIT_WORDS) if (pattern.test(name)) return split;
  }
  return undefined;
}
