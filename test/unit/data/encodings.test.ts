/**
 * Files as hospital systems export them: UTF-8 with or without a byte-order mark, UTF-16 with one,
 * and Windows-1252 / Latin-1 chosen with --encoding. Bytes invalid in the encoding are refused
 * with the file and line, unless the user opts in to U+FFFD.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { importBrat } from '../../../src-main/data/importers/brat.js';
import { importConll } from '../../../src-main/data/importers/conll.js';
import { importCsv } from '../../../src-main/data/importers/tabular.js';
import type { ImportOptions } from '../../../src-main/data/source.js';
import { makeTempDir } from '../../support/temp.js';
import { collect } from './helpers.js';

const temp = makeTempDir();
afterAll(() => temp.cleanup());
let n = 0;
const write = (name: string, bytes: Buffer) => {
  const file = path.join(temp.dir, `${++n}-${name}`);
  writeFileSync(file, bytes);
  return file;
};

const CSV = 'CHQ,Summary\n"Naïve patient, café au lait spots – 5 €",spots\n';
const MAPPING = { task: 'summarization', mapping: 'source=CHQ,summary=Summary' } as const satisfies ImportOptions;
const sources = async (file: string, options: Partial<ImportOptions> = {}) =>
  (await collect(importCsv, file, { ...MAPPING, ...options })).map((e) => (e.input as { source: string }).source);

/** UTF-16 big-endian bytes (Node has no encoder for it). */
const utf16be = (text: string) => Buffer.from(text, 'utf16le').swap16();

describe('encodings', () => {
  it('reads UTF-8 with and without a BOM and UTF-16 (LE and BE) with a BOM as the same text', async () => {
    const expected = ['Naïve patient, café au lait spots – 5 €'];
    expect(await sources(write('plain.csv', Buffer.from(CSV)))).toEqual(expected);
    expect(await sources(write('bom.csv', Buffer.from(`\uFEFF${CSV}`)))).toEqual(expected);
    expect(await sources(write('le.csv', Buffer.from(`\uFEFF${CSV}`, 'utf16le')))).toEqual(expected);
    expect(await sources(write('be.csv', utf16be(`\uFEFF${CSV}`)))).toEqual(expected);
  });

  it('refuses Windows-1252 bytes read as UTF-8 with file and line, and reads them with --encoding', async () => {
    // Windows-1252: 0xEF is ï, 0xE9 é, 0x96 an en dash, 0x80 the euro sign.
    const cp1252 = Buffer.from(
      'CHQ,Summary\nfirst,one\n"Na\xefve patient, caf\xe9 au lait spots \x96 5 \x80",spots\n',
      'latin1',
    );
    const file = write('export.csv', cp1252);
    await expect(sources(file)).rejects.toThrow(
      `${file}, line 3: the file holds bytes that are not valid utf-8 (if the file comes from a Windows or Latin-1 system, give --encoding windows-1252;`,
    );
    expect(await sources(file, { encoding: 'windows-1252' })).toEqual([
      'first',
      'Naïve patient, café au lait spots – 5 €',
    ]);
    expect(await sources(file, { encoding: 'latin1' })).toEqual(await sources(file, { encoding: 'windows-1252' }));
  });

  it('turns invalid bytes into U+FFFD only when asked to', async () => {
    const file = write(
      'bad.csv',
      Buffer.concat([Buffer.from('CHQ,Summary\nab'), Buffer.from([0xff]), Buffer.from('c,d\n')]),
    );
    await expect(sources(file)).rejects.toThrow(/line 2: the file holds bytes that are not valid utf-8/);
    expect(await sources(file, { replaceInvalid: true })).toEqual(['ab\uFFFDc']);
  });

  it('finds the line of a bad byte far into a large file (past the first read chunk)', async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `token${i}\tO`);
    lines[15_000] = 'caf\xe9\tO';
    const file = write('big.tsv', Buffer.from(`${lines.join('\n')}\n`, 'latin1'));
    await expect(collect(importConll, file, { task: 'ner' })).rejects.toThrow(
      `${file}, line 15001: the file holds bytes`,
    );
    const examples = await collect(importConll, file, { task: 'ner', encoding: 'windows-1252' });
    expect((examples[0]?.input as { text: string }).text).toContain('café');
  });

  it('reads a BRAT pair in Windows-1252 (offsets count characters, not bytes)', async () => {
    const dir = path.join(temp.dir, 'brat');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'a.txt'), Buffer.from('Caf\xe9ine and \x80 aspirin.', 'latin1'));
    writeFileSync(
      path.join(dir, 'a.ann'),
      Buffer.from('T1\tDRUG 0 8\tCaf\xe9ine\nT2\tDRUG 14 21\taspirin\n', 'latin1'),
    );
    const [doc] = await collect(importBrat, dir, { task: 'ner', encoding: 'windows-1252' });
    expect(doc?.target).toMatchObject({ entities: [{ text: 'Caféine' }, { text: 'aspirin' }] });
  });

  it('names --encoding for an encoding it does not know', async () => {
    const file = write('x.csv', Buffer.from(CSV));
    await expect(sources(file, { encoding: 'ebcdic-klingon' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('--encoding: "ebcdic-klingon" is not an encoding this reader knows'),
    });
  });
});
