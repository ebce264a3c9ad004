import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { importBioc } from '../../../src-main/data/importers/bioc.js';
import { importPubTator } from '../../../src-main/data/importers/pubtator.js';
import type { NerTarget, ReTarget } from '../../../src-main/tasks/types.js';
import { makeTempDir } from '../../support/temp.js';
import { caseFolders, collect } from './helpers.js';

const temp = makeTempDir();
afterAll(() => temp.cleanup());
const fresh = caseFolders(temp.dir);

// Title at offset 0, abstract at offset 30 (a gap of spaces after the 27-character title).
const TITLE = 'Naloxone reverses clonidine';
const ABSTRACT = 'In hypertensive patients, clonidine caused hypotension.';
const BIOC_XML = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE collection SYSTEM "BioC.dtd">
<collection><source>test</source><date>2026</date><key>test.key</key>
<document><id>227508</id>
<passage><infon key="type">title</infon><offset>0</offset><text>${TITLE}</text>
<annotation id="0"><infon key="type">Chemical</infon><location offset="0" length="8"/><text>Naloxone</text></annotation>
<annotation id="1"><infon key="type">Chemical</infon><location offset="18" length="9"/><text>clonidine</text></annotation>
</passage>
<passage><infon key="type">abstract</infon><offset>30</offset><text>${ABSTRACT}</text>
<annotation id="2"><infon key="type">Disease</infon><location offset="33" length="12"/><text>hypertensive</text></annotation>
<annotation id="3"><infon key="type">Disease</infon><location offset="73" length="11"/><location offset="9" length="8"/><text>reverses hypotension</text></annotation>
<relation id="R0"><infon key="relation">CID</infon><infon key="type">CID</infon><node refid="1" role="Chemical"/><node refid="3" role="Disease"/></relation>
</passage></document>
<document><id>2</id><passage><offset>0</offset><text>No findings &amp; no &lt;tags&gt;.</text></passage></document>
</collection>`;

const BIOC_JSON = JSON.stringify({
  source: 'test',
  documents: [
    {
      id: '227508',
      passages: [
        {
          offset: 0,
          text: TITLE,
          infons: { type: 'title' },
          annotations: [
            { id: '0', infons: { type: 'Chemical' }, text: 'Naloxone', locations: [{ offset: 0, length: 8 }] },
            { id: '1', infons: { type: 'Chemical' }, text: 'clonidine', locations: [{ offset: 18, length: 9 }] },
          ],
        },
        {
          offset: 30,
          text: ABSTRACT,
          annotations: [
            { id: '2', infons: { type: 'Disease' }, locations: [{ offset: 33, length: 12 }] },
            {
              id: '3',
              infons: { type: 'Disease' },
              locations: [
                { offset: 73, length: 11 },
                { offset: 9, length: 8 },
              ],
            },
          ],
          relations: [{ id: 'R0', infons: { type: 'CID' }, nodes: [{ refid: '1' }, { refid: '3' }] }],
        },
      ],
    },
    { id: '2', passages: [{ offset: 0, text: 'No findings & no <tags>.' }] },
  ],
});

describe('BioC importer', () => {
  it('XML and JSON give the same examples: passages placed at their offsets, discontinuous mentions, relations', async () => {
    const xml = await collect(importBioc, path.join(fresh({ 'train.xml': BIOC_XML }), 'train.xml'), { task: 'ner' });
    const json = await collect(importBioc, path.join(fresh({ 'train.json': BIOC_JSON }), 'train.json'), {
      task: 'ner',
    });
    expect(xml).toHaveLength(2);
    const text = `${TITLE}   ${ABSTRACT}`;
    expect(xml[0]?.input).toEqual({ text });
    expect(xml[0]?.split).toBe('train');
    const entities = (xml[0]?.target as NerTarget).entities;
    expect(entities.map((e) => [text.slice(e.start, e.end).slice(0, 12), e.type])).toContainEqual([
      'hypertensive',
      'Disease',
    ]);
    expect(entities.find((e) => e.id === '3')).toMatchObject({
      fragments: [
        { start: 9, end: 17 },
        { start: 73, end: 84 },
      ],
      text: 'reverses hypotension',
    });
    expect((xml[1]?.input as { text: string }).text).toBe('No findings & no <tags>.');
    expect(json).toEqual(xml);
    const re = await collect(importBioc, path.join(fresh({ 'a.xml': BIOC_XML }), 'a.xml'), { task: 're' });
    expect((re[0]?.target as ReTarget).relations.map((r) => [r.head.text, r.type, r.tail.text])).toEqual([
      ['clonidine', 'CID', 'reverses hypotension'],
    ]);
  });

  it('reports malformed XML, bad locations and dangling relations with file and line', async () => {
    const broken = path.join(fresh({ 'b.xml': '<collection>\n<document><id>1</id>\n<passage></document>' }), 'b.xml');
    await expect(collect(importBioc, broken, { task: 'ner' })).rejects.toThrow(
      new RegExp(
        `${broken.replace(/[/.]/g, '\\$&')}, line 3, byte \\d+: not well-formed XML \\(unexpected close tag\\)`,
      ),
    );
    const outside = BIOC_XML.replace('offset="33" length="12"', 'offset="33" length="1200"');
    await expect(collect(importBioc, path.join(fresh({ 'c.xml': outside }), 'c.xml'), { task: 'ner' })).rejects.toThrow(
      /line 10, document 227508 > passage 2 > annotation 1, byte \d+: a location \(33\+1200\) lies outside the document's text/,
    );
    const shifted = BIOC_XML.replace('offset="0" length="8"', 'offset="1" length="8"');
    await expect(collect(importBioc, path.join(fresh({ 'e.xml': shifted }), 'e.xml'), { task: 'ner' })).rejects.toThrow(
      /line 6, document 227508 > passage 1 > annotation 1, byte \d+: the <text> of annotation 0 does not match its location/,
    );
    const dangling = BIOC_XML.replace('refid="3"', 'refid="9"');
    await expect(collect(importBioc, path.join(fresh({ 'd.xml': dangling }), 'd.xml'), { task: 're' })).rejects.toThrow(
      /document 227508 > passage 2 > relation 1, byte \d+: relation R0: its <node> refids name no annotation/,
    );
  });
});

const PUBTATOR = [
  `227508|t|${TITLE}`,
  `227508|a|${ABSTRACT}`,
  '227508\t0\t8\tNaloxone\tChemical\tD009270',
  '227508\t18\t27\tclonidine\tChemical\tD003000',
  '227508\t71\t82\thypotension\tDisease\tD007022',
  '227508\tCID\tD003000\tD007022',
  '',
  '3|t|Second title',
  '3|a|',
  '',
].join('\n');

describe('PubTator importer', () => {
  it('reads title + space + abstract, typed mentions with concept ids, and concept relations', async () => {
    const file = path.join(fresh({ 'test.pubtator': PUBTATOR }), 'test.pubtator');
    const [first, second] = await collect(importPubTator, file, { task: 're' });
    expect(first?.split).toBe('test');
    expect((first?.input as { text: string }).text).toBe(`${TITLE} ${ABSTRACT}`);
    const target = first?.target as ReTarget;
    expect(target.entities?.map((e) => [e.text, e.type, e.references])).toEqual([
      ['Naloxone', 'Chemical', ['D009270']],
      ['clonidine', 'Chemical', ['D003000']],
      ['hypotension', 'Disease', ['D007022']],
    ]);
    expect(target.relations.map((r) => [r.head.text, r.type, r.tail.text])).toEqual([
      ['clonidine', 'CID', 'hypotension'],
    ]);
    expect(second?.externalId).toBe('3');
  });

  it('names the line of a mention that does not match the text', async () => {
    const file = path.join(fresh({ 'x.txt': PUBTATOR.replace('\t71\t82\t', '\t70\t81\t') }), 'x.txt');
    await expect(collect(importPubTator, file, { task: 'ner' })).rejects.toThrow(
      `${file}, line 5: the mention at 70-81 does not match`,
    );
  });
});
