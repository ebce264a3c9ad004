import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import path from 'node:path';

import type { ImportFormat } from '../../../src-main/common/vocabulary.js';
import type { ReadOptions } from '../../../src-main/data/read-dataset.js';
import type { ImportOptions, RawExample } from '../../../src-main/data/source.js';
import { streamDataset } from '../../../src-main/data/stream-dataset.js';
import { DatasetsRepository } from '../../../src-main/store/repositories/datasets.js';
import type { Db } from '../../../src-main/store/sqlite.js';
import { freshDatabase } from '../store/helpers.js';

/** Writes files (relative path -> content) under `dir` and returns `dir`. */
export function writeTree(dir: string, files: Record<string, string>): string {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

export async function collect(
  importer: (source: string, options: ImportOptions) => AsyncIterable<RawExample>,
  source: string,
  options: ImportOptions,
): Promise<RawExample[]> {
  const out: RawExample[] = [];
  for await (const e of importer(source, options)) out.push(e);
  return out;
}

/** A factory of fresh case folders under `root`, each holding the given files. */
export function caseFolders(root: string): (files: Record<string, string>) => string {
  let n = 0;
  return (files) => writeTree(path.join(root, `case${++n}`), files);
}

/** A named pipe and a writer into it: what the importer reads arrives only as the test writes it. */
export function fifo(file: string): WriteStream {
  execFileSync('mkfifo', [file]);
  return createWriteStream(file);
}

const openDatabases: Db[] = [];

/** Closes the databases importStreamed opened (call in afterEach). */
export function closeDatabases(): void {
  for (const db of openDatabases.splice(0)) db.close();
}

/**
 * Imports `source` through the stream into a fresh real encrypted store in `dir` (as the import
 * service does) and returns the written examples, the report and the database (`given`, else a
 * new one that closeDatabases closes, also when the import failed).
 */
export async function importStreamed(
  dir: string,
  source: string,
  format: ImportFormat,
  options: ReadOptions,
  given?: Db,
) {
  const db: Db = given ?? freshDatabase(dir).db;
  if (!given) openDatabases.push(db);
  const repo = new DatasetsRepository(db);
  const stream = streamDataset(format, source, options);
  let finished: ReturnType<typeof stream.finish> | undefined;
  const result = await repo.importDatasetStream(
    { name: 'd', taskType: options.task, sourceFormat: format, labelSet: [] },
    stream.examples,
    { finish: (inserted) => ((finished = stream.finish(inserted)), { labelSet: finished.labelSet, meta: {} }) },
  );
  const examples = repo.examples(result.datasetId);
  return { ...result, ...finished!, examples, restarts: stream.restarts, db };
}
