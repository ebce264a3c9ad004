import { mkdirSync, writeFileSync } from 'node:fs';
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
