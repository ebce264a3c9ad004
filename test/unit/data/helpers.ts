import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import path from 'node:path';

import type { ImportOptions, RawExample } from '../../../src-main/data/source.js';

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
