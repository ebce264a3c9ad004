/**
 * What every importer shares: the raw example it yields, malformed-input errors that name the
 * file, line and problem (never the note text), line-by-line streaming, and finding files and
 * their split in a dataset folder.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { UserError, nodeErrorCode } from '../common/errors.js';
import type { Split, TaskInput, TaskTarget, TaskType } from '../tasks/types.js';

/** An example as an importer reads it; the split is filled in later when the source has none. */
export interface RawExample<T extends TaskType = TaskType> {
  readonly split?: Split;
  readonly externalId?: string;
  readonly input: TaskInput<T>;
  readonly target: TaskTarget<T> | null;
  readonly labels: readonly string[];
}

export interface ImportOptions {
  readonly task: TaskType;
  /** Puts every example in this split, whatever the source says. */
  readonly split?: Split;
  /** Column/field mapping for JSONL and CSV (see mapping.ts). */
  readonly mapping?: string;
}

export type Importer = (source: string, options: ImportOptions) => AsyncIterable<RawExample>;

/** A malformed-input error: file, line (when known) and the problem, with what to do. */
export function badFile(file: string, line: number | undefined, problem: string): UserError {
  const where = line === undefined ? file : `${file}, line ${line}`;
  return new UserError('BAD_FILE', `${where}: ${problem}. Fix the file and import again; nothing was imported.`);
}

export function unsupportedTask(format: string, task: TaskType, supported: readonly TaskType[]): UserError {
  return new UserError(
    'UNSUPPORTED',
    `The ${format} format holds ${supported.join('/')} annotations, not ${task}: choose ${supported.join(' or ')}, or another format.`,
    { field: 'task' },
  );
}

export interface Line {
  readonly text: string;
  /** 1-based. */
  readonly number: number;
}

/** Streams a file's lines (LF or CRLF) without reading it whole; a leading BOM is dropped. */
export async function* readLines(file: string): AsyncGenerator<Line> {
  const stream = createReadStream(file, { encoding: 'utf8' });
  stream.on('error', () => undefined); // surfaced by the iterator below
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const text of lines) {
      number++;
      yield { text: number === 1 ? text.replace(/^\uFEFF/, '') : text, number };
    }
  } catch (error) {
    throw cannotRead(file, error);
  } finally {
    lines.close();
    stream.destroy();
  }
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

/** Files under a folder (recursively, sorted, hidden files skipped) whose names end with one of `extensions`. */
export async function listFiles(dir: string, extensions: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  const walk = async (current: string): Promise<void> => {
    const entries = await readdir(current, { withFileTypes: true });
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (extensions.some((ext) => entry.name.toLowerCase().endsWith(ext))) found.push(full);
    }
  };
  try {
    await walk(dir);
  } catch (error) {
    throw cannotRead(dir, error);
  }
  return found;
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
  splitNamedFirst = false,
): Promise<string[]> {
  if (!(await isDirectory(source))) return [source];
  const all = await listFiles(source, extensions);
  const named = all.filter((f) => splitFromPath(f) !== undefined);
  const files = splitNamedFirst && named.length > 0 ? named : all;
  if (files.length === 0) {
    throw new UserError('BAD_FILE', `${source} holds no ${format} files (${extensions.join(', ')}). Check the path.`);
  }
  return files;
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
