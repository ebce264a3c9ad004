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
  recordOrSkip,
  sourceFiles,
  fileSplit,
  unsupportedTask,
  type ImportOptions,
  type RawExample,
} from '../source.js';

const TAG = /^(?:O|([BIES])-(\S.*))$/;

interface Sentence {
  tokens: string[];
  tags: { prefix: string; type: string }[];
  firstLine: number;
  /** With --skip-bad-rows: a line of it was malformed, so the sentence is skipped. */
  broken?: boolean;
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

/** A line's token and tag columns (tab-separated, else whitespace; the tag is the last column). */
function columnsOf(text: string, trimmed: string): string[] {
  return text.includes('\t') ? text.split('\t') : trimmed.split(/\s+/);
}

/** What is wrong with a token line, or undefined. */
function tokenProblem(text: string, trimmed: string): string | undefined {
  const columns = columnsOf(text, trimmed);
  if (columns.length < 2) return 'expected a token and a tag separated by a tab, found one column';
  if ((columns[0] ?? '').trim() === '') return 'the token column is empty';
  if (!TAG.test((columns[columns.length - 1] ?? '').trim())) {
    return 'the last column is not a BIO tag (O, B-TYPE, I-TYPE, E-TYPE or S-TYPE)';
  }
  return undefined;
}

function tokenAndTag(text: string, trimmed: string): { token: string; match: RegExpExecArray } {
  const columns = columnsOf(text, trimmed);
  return {
    token: (columns[0] ?? '').trim(),
    match: TAG.exec((columns[columns.length - 1] ?? '').trim()) as RegExpExecArray,
  };
}

export async function* importConll(source: string, options: ImportOptions): AsyncGenerator<RawExample<'ner'>> {
  if (options.task !== 'ner') throw unsupportedTask('CoNLL', options.task, ['ner']);
  const files = await sourceFiles(
    source,
    ['.tsv', '.conll', '.iob', '.bio', '.iob2', '.txt'],
    'CoNLL/BIO',
    options,
    true,
  );
  for (const file of files) {
    const split = fileSplit(file, options);
    let documents = 0; // -DOCSTART- lines seen: sentences of one document are drawn into one split
    let sentence: Sentence = { tokens: [], tags: [], firstLine: 1 };
    const flush = function* () {
      if (sentence.tokens.length > 0 && !sentence.broken) {
        const example = sentenceToExample(sentence, file);
        const group = documents > 0 ? { group: `${file}#${documents}` } : {};
        yield { ...example, ...group, ...(split ? { split } : {}) };
      }
    };
    for await (const line of readLines(file, options)) {
      const trimmed = line.text.trim();
      if (trimmed === '' || trimmed.startsWith('-DOCSTART-')) {
        yield* flush();
        if (trimmed !== '') documents++;
        sentence = { tokens: [], tags: [], firstLine: line.number + 1 };
        continue;
      }
      if (sentence.broken) continue;
      const problem = tokenProblem(line.text, trimmed);
      if (problem) {
        const error = badFile(file, line.number, problem);
        // --skip-bad-rows skips the sentence the line belongs to, once.
        await recordOrSkip(options, () => {
          throw error;
        });
        sentence.broken = true;
        continue;
      }
      const { token, match } = tokenAndTag(line.text, trimmed);
      sentence.tokens.push(token);
      sentence.tags.push({ prefix: match[1] ?? 'O', type: match[2] ?? '' });
    }
    yield* flush();
  }
}
