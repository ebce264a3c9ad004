/**
 * A folder of plain-text notes (`*.txt`, one note per file): unlabelled examples to run prompts
 * over. The target is null; each note is one example in the test split (they are for inference,
 * never training). Files are read one at a time.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { UserError } from '../../common/errors.js';
import { cannotRead, isDirectory, listFiles, unsupportedTask, type ImportOptions, type RawExample } from '../source.js';

export async function* importNotes(source: string, options: ImportOptions): AsyncGenerator<RawExample> {
  if (options.task === 'qa' || options.task === 'nli')
    throw unsupportedTask('notes', options.task, ['ner', 're', 'summarization']);
  if (!(await isDirectory(source))) {
    throw new UserError('INVALID_ARGUMENT', `${source} is a file; "import notes" takes a folder of .txt notes.`);
  }
  const files = await listFiles(source, ['.txt']);
  if (files.length === 0) throw new UserError('BAD_FILE', `${source} holds no .txt notes. Check the path.`);
  for (const file of files) {
    let text: string;
    try {
      text = (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
    } catch (error) {
      throw cannotRead(file, error);
    }
    if (text.trim() === '') continue;
    const input = options.task === 'summarization' ? { source: text } : { text };
    yield { split: options.split ?? 'test', externalId: path.relative(source, file), input, target: null, labels: [] };
  }
}
