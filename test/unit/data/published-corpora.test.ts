/**
 * PubTator and BioC as corpora publish them (BioCreative V CDR, NCBI-disease, BioRED): fixtures
 * written in each release's own conventions, read without conversion.
 */
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { importBioc } from '../../../src-main/data/importers/bioc.js';
import { RELATION_WITHOUT_MENTION, importPubTator } from '../../../src-main/data/importers/pubtator.js';
import { IGNORED_FOR_NER, ImportNotices, type RawExample } from '../../../src-main/data/source.js';
import type { NerTarget, ReTarget } from '../../../src-main/tasks/types.js';
import { makeTempDir } from '../../support/temp.js';
import { caseFolders, collect } from './helpers.js';

const temp = makeTempDir();
afterAll(() => temp.cleanup());
const fresh = caseFolders(temp.dir);

const TITLE = 'Hepatocyte nuclear factor-6: associations with type II diabetes.';
const ABSTRACT = 'Variants of HNF-6 and rs372493 were not linked to diabetes or to lithium toxicity.';
const TEXT = `${TITLE} ${ABSTRACT}`;
const span = (mention: string, from = 0) => {
  const start = TEXT.indexOf(mention, from);
  return [start, start + mention.length] as const;
};

/** A PubTator mention line at the first place `mention` occurs (after `from`). */
const mention = (pmid: string, text: string, type: string, ids: string, from = 0) =>
  [pmid, ...span(text, from), text, type, ids].join('\t');

// BioRED: gene ids, a variant id that itself holds '|' (tmVar), a novelty column after the concept ids.
// BC5CDR / NCBI-disease: several MeSH ids per mention joined by '|' or ';', and -1 for none.
const PUBTATOR = [
  `10491763|t|${TITLE}`,
  `10491763|a|${ABSTRACT}`,
  mention('10491763', 'Hepatocyte nuclear factor-6', 'GeneOrGeneProduct', '3175'),
  mention('10491763', 'type II diabetes', 'DiseaseOrPhenotypicFeature', 'D003924'),
  mention('10491763', 'HNF-6', 'GeneOrGeneProduct', '3175'),
  mention('10491763', 'rs372493', 'SequenceVariant', 'rs372493|p|SUB|V|95|M'),
  mention('10491763', 'diabetes', 'DiseaseOrPhenotypicFeature', 'D003920;D003924', TITLE.length),
  mention('10491763', 'lithium toxicity', 'ChemicalEntity', '-1'),
  '10491763\tAssociation\tD003924\t3175\tNovel',
  '10491763\tAssociation\trs372493|p|SUB|V|95|M\tD003920\tNo',
  '10491763\tPositive_Correlation\tD008094\t3175\tNovel', // D008094 has no mention here
  '',
  '42|t|A title with nothing annotated.',
  '42|a|',
  '',
].join('\n');

describe('PubTator as published', () => {
  it('reads relation lines with a novelty column, concept ids holding | or ;, several ids per mention', async () => {
    const notices = new ImportNotices();
    const file = path.join(fresh({ 'biored.pubtator': PUBTATOR }), 'biored.pubtator');
    const [doc, empty] = await collect(importPubTator, file, { task: 're', notices });
    const target = doc?.target as ReTarget;
    expect(target.relations.map((r) => [r.head.text, r.type, r.tail.text, r.attributes])).toEqual([
      ['type II diabetes', 'Association', 'Hepatocyte nuclear factor-6', { novelty: 'Novel' }],
      ['rs372493', 'Association', 'diabetes', { novelty: 'No' }],
    ]);
    expect(target.entities?.find((e) => e.text === 'diabetes')?.references).toEqual(['D003920', 'D003924']);
    expect(target.entities?.find((e) => e.text === 'lithium toxicity')?.references).toBeUndefined();
    // The relation whose concept has no mention is skipped and counted, not a refusal of the corpus.
    expect(notices.counts).toEqual({ [RELATION_WITHOUT_MENTION]: 1 });
    expect(empty).toMatchObject({ externalId: '42', target: { relations: [], entities: [] } });
  });

  it('--task ner ignores relation lines (counted) without checking them', async () => {
    const notices = new ImportNotices();
    const dangling = `${PUBTATOR.replace('10491763\tAssociation\tD003924\t3175\tNovel', '10491763\tAssociation\tD999\tNOPE')}`;
    const file = path.join(fresh({ 'a.pubtator': dangling }), 'a.pubtator');
    const [doc] = await collect(importPubTator, file, { task: 'ner', notices });
    expect((doc?.target as NerTarget).entities).toHaveLength(6);
    expect(notices.counts).toEqual({ [IGNORED_FOR_NER]: 3 });
  });

  it('--skip-bad-rows skips the document with a malformed line and lists it; without it nothing imports', async () => {
    const broken = PUBTATOR.replace(mention('10491763', 'HNF-6', 'GeneOrGeneProduct', '3175'), '10491763\tx\t5');
    const file = path.join(fresh({ 'a.pubtator': broken }), 'a.pubtator');
    await expect(collect(importPubTator, file, { task: 're' })).rejects.toThrow(`${file}, line 5: expected`);
    const notices = new ImportNotices();
    const kept = await collect(importPubTator, file, { task: 're', skipBadRows: true, notices });
    expect(kept.map((e) => e.externalId)).toEqual(['42']);
    expect(notices.skipped).toEqual([expect.stringMatching(new RegExp(`^${file}, line 5: expected "id\\|t\\|title"`))]);
  });
});

/** One-line BioC XML as the BC5CDR and BioRED releases ship it. */
const biocAnnotation = (id: string, type: string, keys: Record<string, string>, text: string, from = 0) => {
  const [start, end] = span(text, from);
  const infons = Object.entries({ type, ...keys })
    .map(([k, v]) => `<infon key="${k}">${v}</infon>`)
    .join('');
  return `<annotation id="${id}">${infons}<location offset="${start}" length="${end - start}"/><text>${text}</text></annotation>`;
};

const BIOC_XML =
  '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE collection SYSTEM "BioC.dtd"><collection><source>PubTator</source><date>2026</date><key>BioC.key</key>' +
  '<document><id>10491763</id>' +
  `<passage><infon key="type">title</infon><offset>0</offset><text>${TITLE}</text>` +
  biocAnnotation('0', 'GeneOrGeneProduct', { identifier: '3175' }, 'Hepatocyte nuclear factor-6') +
  biocAnnotation('1', 'DiseaseOrPhenotypicFeature', { identifier: 'D003924' }, 'type II diabetes') +
  '</passage>' +
  `<passage><infon key="type">abstract</infon><offset>${TITLE.length + 1}</offset><text>${ABSTRACT}</text>` +
  biocAnnotation('2', 'ChemicalEntity', { MESH: 'D008094' }, 'lithium toxicity') +
  biocAnnotation('3', 'DiseaseOrPhenotypicFeature', { MESH: 'D003920|D003924' }, 'diabetes', TITLE.length) +
  '</passage>' +
  // BioRED: entity1/entity2 name concepts, novel is an attribute.
  '<relation id="R0"><infon key="entity1">D003924</infon><infon key="entity2">3175</infon><infon key="novel">Novel</infon><infon key="type">Association</infon></relation>' +
  // BC5CDR: the type under "relation", the arguments under their entity types.
  '<relation id="R1"><infon key="relation">CID</infon><infon key="Chemical">D008094</infon><infon key="Disease">D003920</infon></relation>' +
  // role1/role2 naming annotation ids.
  '<relation id="R2"><infon key="type">Bind</infon><infon key="role1">0</infon><infon key="role2">2</infon></relation>' +
  // A concept with no mention in this document: skipped and counted.
  '<relation id="R3"><infon key="type">Association</infon><infon key="entity1">D999999</infon><infon key="entity2">3175</infon></relation>' +
  '</document>' +
  '<document><id>42</id><passage><offset>0</offset><text>Nothing annotated.</text></passage></document>' +
  '</collection>';

describe('BioC as published', () => {
  const relations = (examples: RawExample[]) =>
    (examples[0]?.target as ReTarget).relations.map((r) => [r.id, r.head.text, r.type, r.tail.text, r.attributes]);
  const expected = [
    ['R0', 'type II diabetes', 'Association', 'Hepatocyte nuclear factor-6', { novel: 'Novel' }],
    ['R1', 'lithium toxicity', 'CID', 'diabetes', undefined],
    ['R2', 'Hepatocyte nuclear factor-6', 'Bind', 'lithium toxicity', undefined],
  ];

  it('reads relations given as infons (entity1/entity2, BC5CDR entity-type keys, role1/role2), and documents without relations', async () => {
    const notices = new ImportNotices();
    const examples = await collect(importBioc, path.join(fresh({ 'a.xml': BIOC_XML }), 'a.xml'), {
      task: 're',
      notices,
    });
    expect(relations(examples)).toEqual(expected);
    expect(notices.counts).toEqual({ [RELATION_WITHOUT_MENTION]: 1 });
    expect(examples[1]).toMatchObject({ externalId: '42', target: { relations: [] } });
  });

  it('reads the same from BioC JSON', async () => {
    const annotation = (id: string, type: string, keys: Record<string, string>, text: string, from = 0) => {
      const [start, end] = span(text, from);
      return { id, infons: { type, ...keys }, text, locations: [{ offset: start, length: end - start }] };
    };
    const json = JSON.stringify({
      source: 'PubTator',
      documents: [
        {
          id: '10491763',
          passages: [
            {
              offset: 0,
              text: TITLE,
              annotations: [
                annotation('0', 'GeneOrGeneProduct', { identifier: '3175' }, 'Hepatocyte nuclear factor-6'),
                annotation('1', 'DiseaseOrPhenotypicFeature', { identifier: 'D003924' }, 'type II diabetes'),
              ],
            },
            {
              offset: TITLE.length + 1,
              text: ABSTRACT,
              annotations: [
                annotation('2', 'ChemicalEntity', { MESH: 'D008094' }, 'lithium toxicity'),
                annotation('3', 'DiseaseOrPhenotypicFeature', { MESH: 'D003920|D003924' }, 'diabetes', TITLE.length),
              ],
            },
          ],
          relations: [
            {
              id: 'R0',
              infons: { entity1: 'D003924', entity2: '3175', novel: 'Novel', type: 'Association' },
              nodes: [],
            },
            { id: 'R1', infons: { relation: 'CID', Chemical: 'D008094', Disease: 'D003920' } },
            { id: 'R2', infons: { type: 'Bind' }, nodes: [{ refid: '0' }, { refid: '2' }] },
            { id: 'R3', infons: { type: 'Association', entity1: 'D999999', entity2: '3175' } },
          ],
        },
        { id: '42', passages: [{ offset: 0, text: 'Nothing annotated.' }] },
      ],
    });
    const notices = new ImportNotices();
    const examples = await collect(importBioc, path.join(fresh({ 'a.json': json }), 'a.json'), { task: 're', notices });
    expect(relations(examples)).toEqual(expected);
    expect(notices.counts).toEqual({ [RELATION_WITHOUT_MENTION]: 1 });
  });

  it('--task ner ignores relations (counted), even ones that name nothing', async () => {
    const notices = new ImportNotices();
    const dangling = BIOC_XML.replace('<infon key="role1">0</infon>', '<infon key="role1">77</infon>');
    const [doc] = await collect(importBioc, path.join(fresh({ 'a.xml': dangling }), 'a.xml'), { task: 'ner', notices });
    expect((doc?.target as NerTarget).entities.map((e) => e.text)).toEqual([
      'Hepatocyte nuclear factor-6',
      'type II diabetes',
      'diabetes',
      'lithium toxicity',
    ]);
    expect(notices.counts).toEqual({ [IGNORED_FOR_NER]: 4 });
  });

  it('locates an error in a one-line file by document id, element path and byte offset', async () => {
    const broken = BIOC_XML.replace('offset="0" length="27"', 'offset="0" length="2700"');
    const file = path.join(fresh({ 'a.xml': broken }), 'a.xml');
    // The offset is where the element's start tag ends.
    const tag = '<annotation id="0">';
    const byte = Buffer.byteLength(broken.slice(0, broken.indexOf(tag) + tag.length));
    await expect(collect(importBioc, file, { task: 'ner' })).rejects.toThrow(
      `${file}, line 1, document 10491763 > passage 1 > annotation 1, byte ${byte}: a location (0+2700) lies outside the document's text`,
    );
    const node = BIOC_XML.replace(
      '<infon key="role1">0</infon><infon key="role2">2</infon>',
      '<node refid="0"/><node refid="9"/>',
    );
    const nodeFile = path.join(fresh({ 'a.xml': node }), 'a.xml');
    await expect(collect(importBioc, nodeFile, { task: 're' })).rejects.toThrow(
      /line 1, document 10491763 > relation 3, byte \d+: relation R2: its <node> refids name no annotation/,
    );
  });
});
