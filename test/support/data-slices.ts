import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { SHARED_DIR } from './paths.js';

/** The first `lines` lines of a shared CoNLL file, cut at a sentence boundary (a blank line). */
export function conllHead(relative: string, lines: number): string {
  const all = readFileSync(path.join(SHARED_DIR, 'data', relative), 'utf8').split('\n');
  let end = Math.min(lines, all.length);
  while (end < all.length && all[end - 1]?.trim() !== '') end++;
  return all.slice(0, end).join('\n') + '\n';
}

/**
 * A small NCBI-disease corpus in `dir`: the first few hundred lines of its train, devel and test
 * files (so an import sees all three splits). Returns the folder.
 */
export function ncbiDiseaseSlice(dir: string, lines = 300): string {
  const folder = path.join(dir, 'ncbi-slice');
  mkdirSync(folder, { recursive: true });
  for (const file of ['train.tsv', 'devel.tsv', 'test.tsv']) {
    writeFileSync(path.join(folder, file), conllHead(`ner/ncbi-disease/${file}`, lines));
  }
  return folder;
}

/** A CoNLL file whose line `badLine` has a token and no tag (the importer must name that line). */
export function malformedConll(dir: string, badLine = 7): string {
  const lines = conllHead('ner/ncbi-disease/train.tsv', 40).split('\n');
  lines[badLine - 1] = 'untagged';
  const file = path.join(dir, 'broken-train.tsv');
  writeFileSync(file, lines.join('\n'));
  return file;
}
