/**
 * A folder of plain-text notes (`*.txt`, one note per file): unlabelled examples to run prompts
 * over. The target is null; every note is one example in the test split, because unlabelled notes
 * can only be run and reviewed, never trained or tuned on (NOTES_SPLIT_REASON says so to the user).
 * The task only shapes the input (`{ text }`, or `{ source }` for summarization). Files are read
 * one at a time.
 */
import path from 'node:path';

import { UserError } from '../../common/errors.js';
import {
  isDirectory,
  listFiles,
  noFiles,
  readText,
  recordOrSkip,
  unsupportedTask,
  type ImportOptions,
  type RawExample,
} from '../source.js';

/** The task a notes import gets when none is given: plain note text. */
export const NOTES_DEFAULT_TASK = 'ner';

export const NOTES_SPLIT_REASON =
  'Notes are unlabelled, so every note went to the test split: they are for running prompts over and reviewing, never for training.';

export async function* importNotes(source: string, options: ImportOptions): AsyncGenerator<RawExample> {
  if (options.task === 'qa' || options.task === 'nli')
    throw unsupportedTask('notes', options.task, ['ner', 're', 'summarization']);
  if (!(await isDirectory(source))) {
    throw new UserError('INVALID_ARGUMENT', `${source} is a file; "import notes" takes a folder of .txt notes.`);
  }
  const files = await listFiles(source, ['.txt'], options);
  if (files.length === 0) throw noFiles(source, '.txt notes', options);
  for (const file of files) {
    const text = await recordOrSkip(options, () => readText(file, options));
    if (text === undefined || text.trim() === '') continue;
    const input = options.task === 'summarization' ? { source: text } : { text };
    yield { split: options.split ?? 'test', externalId: path.relative(source, file), input, target: null, labels: [] };
  }
}
