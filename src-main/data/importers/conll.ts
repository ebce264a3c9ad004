/**
 * CoNLL / BIO TSV: one token per line, its tag in the last column (tab- or space-separated), a
 * blank line between sentences, `-DOCSTART-` lines ignored (CoNLL-2003, Tjong Kim Sang & De
 * Meulder 2003; the NCBI-disease and BC5CDR IOB files of Crichton et al. 2017). Tags are IOB2
 * (B-/I-/O), also accepting IOB1 (an I- after O or another type starts a mention) and BIOES
 * (S-, E-). Each sentence becomes one NER example whose text is its tokens joined by spaces.
 */
import path from 'node:path';

import type { Entity, NerInput, NerTarget } from '../../tasks/types.js';
import {
  badFile,
  readLines,
  sourceFiles,
  splitFromPath,
  unsupportedTask,
  type ImportOptions,
  type RawExample,
} from '../source.js';

const TAG = /^(?:O|([BIES])-(\S.*))$/;

interface Sentence {
  tokens: string[];
  tags: { prefix: string; type: string }[];
  firstLine: number;
}

function sentenceToExample(sentence: Sentence, file: string): RawExample<'ner'> {
  let text = '';
  const entities: Entity[] = [];
  let open: { start: number; end: number; type: string } | undefined;
  const close = () => {
    if (open) entities.push({ ...open, text: text.slice(open.start, open.end) });
    open = undefined;
  };
  sentence.tokens.forEach((token, i) => {
    if (i > 0) text += ' ';
    const start = text.length;
    text += token;
    const { prefix, type } = sentence.tags[i] ?? { prefix: 'O', type: '' };
    if (prefix === 'O') return close();
    const continues = (prefix === 'I' || prefix === 'E') && open?.type === type;
    if (!continues) {
      close();
      open = { start, end: text.length, type };
    } else if (open) {
      open.end = text.length;
    }
    if (prefix === 'S' || prefix === 'E') close();
  });
  close();
  const input: NerInput = { text };
  const target: NerTarget = { entities };
  return {
    externalId: `${path.basename(file)}:${sentence.firstLine}`,
    input,
    target,
    labels: entities.map((e) => e.type),
  };
}

export async function* importConll(source: string, options: ImportOptions): AsyncGenerator<RawExample<'ner'>> {
  if (options.task !== 'ner') throw unsupportedTask('CoNLL', options.task, ['ner']);
  const files = await sourceFiles(source, ['.tsv', '.conll', '.iob', '.bio', '.iob2', '.txt'], 'CoNLL/BIO', true);
  for (const file of files) {
    const split = options.split ?? splitFromPath(file);
    let sentence: Sentence = { tokens: [], tags: [], firstLine: 1 };
    const flush = function* () {
      if (sentence.tokens.length > 0) {
        const example = sentenceToExample(sentence, file);
        yield split ? { ...example, split } : example;
      }
    };
    for await (const line of readLines(file)) {
      const trimmed = line.text.trim();
      if (trimmed === '' || trimmed.startsWith('-DOCSTART-')) {
        yield* flush();
        sentence = { tokens: [], tags: [], firstLine: line.number + 1 };
        continue;
      }
      const columns = line.text.includes('\t') ? line.text.split('\t') : trimmed.split(/\s+/);
      if (columns.length < 2) {
        throw badFile(file, line.number, 'expected a token and a tag separated by a tab, found one column');
      }
      const token = (columns[0] ?? '').trim();
      const tag = (columns[columns.length - 1] ?? '').trim();
      const match = TAG.exec(tag);
      if (!match || token === '') {
        throw badFile(
          file,
          line.number,
          token === ''
            ? 'the token column is empty'
            : 'the last column is not a BIO tag (O, B-TYPE, I-TYPE, E-TYPE or S-TYPE)',
        );
      }
      sentence.tokens.push(token);
      sentence.tags.push({ prefix: match[1] ?? 'O', type: match[2] ?? '' });
    }
    yield* flush();
  }
}
