import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { importBioc } from '../../../src-main/data/importers/bioc.js';
import { importCsv, importJsonl } from '../../../src-main/data/importers/tabular.js';
import type { ImportOptions, RawExample } from '../../../src-main/data/source.js';
import { makeTempDir } from '../../support/temp.js';
import { fifo } from './helpers.js';

const temp = makeTempDir();
afterAll(() => temp.cleanup());

/**
 * Importers stream: each yields its first example while the writer still holds the rest of the
 * file back (a named pipe), so a large file is never read whole.
 */
async function firstBeforeRest(
  name: string,
  importer: (source: string, options: ImportOptions) => AsyncIterable<RawExample>,
  options: ImportOptions,
  head: string,
  tail: string,
): Promise<[RawExample, RawExample[]]> {
  const pipe = path.join(temp.dir, name);
  const writer = fifo(pipe);
  writer.write(head);
  const iterator = importer(pipe, options)[Symbol.asyncIterator]();
  const first = await iterator.next();
  writer.end(tail);
  const rest: RawExample[] = [];
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value);
  return [first.value as RawExample, rest];
}

describe('streaming importers', () => {
  it('JSONL', async () => {
    const row = (i: number) => `${JSON.stringify({ premise: `p${i}`, hypothesis: 'h', label: 'Entailment' })}\n`;
    const [first, rest] = await firstBeforeRest('a.jsonl', importJsonl, { task: 'nli' }, row(1), row(2) + row(3));
    expect(first.input).toEqual({ premise: 'p1', hypothesis: 'h' });
    expect(rest).toHaveLength(2);
  });

  it('CSV', async () => {
    // csv-parse emits a record once the next one begins, so the head holds two rows.
    const [first, rest] = await firstBeforeRest(
      'a.csv',
      importCsv,
      { task: 'summarization' },
      'source,summary\na,b\nc,d\n',
      'e,f\n',
    );
    expect(first.target).toEqual({ summary: 'b' });
    expect(rest.map((e) => e.target)).toEqual([{ summary: 'd' }, { summary: 'f' }]);
  });

  it('BioC XML', async () => {
    const doc = (id: string) =>
      `<document><id>${id}</id><passage><offset>0</offset><text>Note ${id}</text></passage></document>\n`;
    const [first, rest] = await firstBeforeRest(
      'a.xml',
      importBioc,
      { task: 'ner' },
      `<collection>${doc('1')}`,
      `${doc('2')}</collection>`,
    );
    expect(first.input).toEqual({ text: 'Note 1' });
    expect(rest.map((e) => e.externalId)).toEqual(['2']);
  });
});
