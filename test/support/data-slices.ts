import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { SOURCE_TASKS } from '../../src-main/data/catalogue.js';
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

/** A MedMCQA row as the shared file holds it: a question, four options, cop the correct one (1 to 4). */
export interface MedMcqaRow {
  readonly id: string;
  readonly question: string;
  readonly opa: string;
  readonly opb: string;
  readonly opc: string;
  readonly opd: string;
  readonly cop: number;
}

/**
 * MedMCQA questions in `dir`: the shared file's first `answered` lines unchanged (answers and
 * all), and the next `fresh` questions without their answers in ClinPrompt's own JSONL, held back
 * for running (the test split), as a ward's new questions would come.
 */
export function medmcqaSlice(dir: string, answered: number, fresh: number) {
  const entry = SOURCE_TASKS.find((t) => t.name === 'medmcqa')!;
  const lines = readFileSync(path.join(SHARED_DIR, 'data', entry.path), 'utf8').split('\n');
  const answeredFile = path.join(dir, 'medmcqa-sample.json');
  writeFileSync(answeredFile, lines.slice(0, answered).join('\n') + '\n');
  const rows = lines.slice(answered, answered + fresh).map((l) => JSON.parse(l) as MedMcqaRow);
  const freshFile = path.join(dir, 'new-questions.jsonl');
  const unanswered = rows.map((q) => ({
    id: q.id,
    split: 'test',
    input: { question: q.question, options: [q.opa, q.opb, q.opc, q.opd], kind: 'multiple-choice' },
    target: null,
    labels: [],
  }));
  writeFileSync(freshFile, unanswered.map((row) => JSON.stringify(row)).join('\n') + '\n');
  return { entry, answeredFile, freshFile, rows };
}
