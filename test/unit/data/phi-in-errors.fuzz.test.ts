/**
 * No note text in any message an import produces. A canary (a made-up patient name) is planted in
 * every field of every format, one field at a time, and each file is then broken in the ways real
 * files break (tabs turned to spaces, columns dropped or swapped, lines cut short or doubled, stray
 * quotes and brackets, bytes invalid in UTF-8). Every import of every variant, with and without
 * --skip-bad-rows and for each task the format holds, must either succeed or fail with a UserError;
 * the error, each skipped-record line and each notice must not carry any part of the canary.
 *
 * Content fields (note text, mention text, cell values) get a one-word canary and a multi-word one;
 * structural fields (ids, type names, column names), which messages may quote to say where a
 * problem is, get the multi-word one: a span of note text pushed into an id's place is never quoted.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';
import writeXlsxFile from 'write-excel-file/node';

import { importBioc } from '../../../src-main/data/importers/bioc.js';
import { importBrat } from '../../../src-main/data/importers/brat.js';
import { importConll } from '../../../src-main/data/importers/conll.js';
import { importNotes } from '../../../src-main/data/importers/notes.js';
import { importPubTator } from '../../../src-main/data/importers/pubtator.js';
import { importCsv, importJsonl } from '../../../src-main/data/importers/tabular.js';
import { ImportNotices, type ImportOptions, type Importer } from '../../../src-main/data/source.js';
import type { TaskType } from '../../../src-main/tasks/types.js';
import { makeTempDir } from '../../support/temp.js';

const temp = makeTempDir();
afterAll(() => temp.cleanup());

const ONE_WORD = 'Qxzvcanary';
const MANY_WORDS = 'Canary Qxzv Smithwick';
/** Any of these in a message means note text got out (a cut-off canary still holds one of them). */
const TRACES = ['canary', 'qxzv', 'smithwick'];

type Values = Record<string, string>;

interface Format {
  readonly name: string;
  readonly importer: Importer;
  readonly tasks: readonly TaskType[];
  readonly options?: Partial<ImportOptions>;
  readonly defaults: Values;
  readonly content: readonly string[];
  readonly structural: readonly string[];
  /** The share of imports the mutations must break (they must really break files). */
  readonly broken?: number;
  /** The files of one import (relative path -> content) and the file whose lines are broken. */
  build(v: Values): { files: Record<string, string>; broken: string };
}

const at = (text: string, part: string) => [text.indexOf(part), text.indexOf(part) + part.length];

const FORMATS: readonly Format[] = [
  {
    name: 'BRAT',
    importer: importBrat,
    tasks: ['ner', 're'],
    defaults: {
      mention: 'Aspirin',
      other: 'warfarin',
      note: 'checked',
      normText: 'aspirin',
      type: 'DRUG',
      relType: 'INCREASES',
      attr: 'Negated',
      normId: 'DB:DB00945',
    },
    content: ['mention', 'other', 'note', 'normText'],
    structural: ['type', 'relType', 'attr', 'normId'],
    build(v) {
      const text = `${v.mention} raises ${v.other} levels.`;
      const [s, e] = at(text, v.other as string);
      const ann = [
        `T1\t${v.type} 0 ${(v.mention as string).length}\t${v.mention}`,
        `T2\tDRUG ${s} ${e}\t${v.other}`,
        `R1\t${v.relType} Arg1:T1 Arg2:T2`,
        `A1\tAssertion T1 ${v.attr}`,
        `N1\tReference T1 ${v.normId}\t${v.normText}`,
        `#1\tAnnotatorNotes T1\t${v.note}`,
      ].join('\n');
      return { files: { 'a.txt': text, 'a.ann': ann }, broken: 'a.ann' };
    },
  },
  {
    name: 'PubTator',
    importer: importPubTator,
    tasks: ['ner', 're'],
    defaults: {
      title: 'Naloxone reverses',
      mention: 'Naloxone',
      abstract: 'It caused hypotension.',
      mention2: 'hypotension',
      pmid: '227508',
      type: 'Chemical',
      concept: 'D009270',
      relType: 'CID',
      novelty: 'Novel',
    },
    content: ['title', 'mention', 'abstract', 'mention2'],
    structural: ['pmid', 'type', 'concept', 'relType', 'novelty'],
    build(v) {
      const title = `${v.mention} ${v.title}`;
      const abstract = `${v.abstract} ${v.mention2}.`;
      const text = `${title} ${abstract}`;
      const [s2 = 0, e2 = 0] = at(text, v.mention2 as string);
      const lines = [
        `${v.pmid}|t|${title}`,
        `${v.pmid}|a|${abstract}`,
        `${v.pmid}\t0\t${(v.mention as string).length}\t${v.mention}\t${v.type}\t${v.concept}`,
        `${v.pmid}\t${s2}\t${e2}\t${v.mention2}\tDisease\tD007022`,
        `${v.pmid}\t${v.relType}\t${v.concept}\tD007022\t${v.novelty}`,
        '',
      ];
      return { files: { 'corpus.pubtator': lines.join('\n') }, broken: 'corpus.pubtator' };
    },
  },
  ...(['xml', 'json'] as const).map((kind): Format => ({
    name: `BioC ${kind.toUpperCase()}`,
    importer: importBioc,
    tasks: ['ner', 're'],
    defaults: {
      passage: 'was given with',
      mention: 'Naloxone',
      mention2: 'clonidine',
      docId: '227508',
      type: 'Chemical',
      identifier: 'D009270',
      relType: 'CID',
      annId: 'A1',
    },
    content: ['passage', 'mention', 'mention2'],
    structural: ['docId', 'type', 'identifier', 'relType', 'annId'],
    build(v) {
      const text = `${v.mention} ${v.passage} ${v.mention2}`;
      const [s2 = 0, e2 = 0] = at(text, v.mention2 as string);
      const len = (v.mention as string).length;
      const file = `collection.${kind}`;
      if (kind === 'xml') {
        // Published BioC XML is often one line.
        const xml =
          `<?xml version="1.0" encoding="UTF-8"?><collection><source>t</source><document><id>${v.docId}</id>` +
          `<passage><offset>0</offset><text>${text}</text>` +
          `<annotation id="${v.annId}"><infon key="type">${v.type}</infon><infon key="identifier">${v.identifier}</infon><location offset="0" length="${len}"/><text>${v.mention}</text></annotation>` +
          `<annotation id="2"><infon key="type">Chemical</infon><infon key="identifier">D003000</infon><location offset="${s2}" length="${e2 - s2}"/><text>${v.mention2}</text></annotation>` +
          `<relation id="R1"><infon key="type">${v.relType}</infon><infon key="entity1">${v.identifier}</infon><infon key="entity2">D003000</infon></relation>` +
          `</passage></document></collection>`;
        return { files: { [file]: xml }, broken: file };
      }
      const json = JSON.stringify({
        source: 't',
        documents: [
          {
            id: v.docId,
            passages: [
              {
                offset: 0,
                text,
                annotations: [
                  {
                    id: v.annId,
                    infons: { type: v.type, identifier: v.identifier },
                    text: v.mention,
                    locations: [{ offset: 0, length: len }],
                  },
                  {
                    id: '2',
                    infons: { type: 'Chemical', identifier: 'D003000' },
                    text: v.mention2,
                    locations: [{ offset: s2, length: e2 - s2 }],
                  },
                ],
                relations: [{ id: 'R1', infons: { type: v.relType, role1: 'A1', role2: '2' }, nodes: [] }],
              },
            ],
          },
        ],
      });
      return { files: { [file]: json }, broken: file };
    },
  })),
  {
    name: 'CoNLL',
    importer: importConll,
    tasks: ['ner'],
    defaults: { token: 'Naloxone', token2: 'works', tag: 'B-Chemical' },
    content: ['token', 'token2'],
    structural: ['tag'],
    build(v) {
      const text = [`${v.token}\t${v.tag}`, `${v.token2}\tO`, '', `${v.token2}\tO`, ''].join('\n');
      return { files: { 'train.tsv': text }, broken: 'train.tsv' };
    },
  },
  {
    name: 'JSONL',
    importer: importJsonl,
    tasks: ['nli'],
    options: { mapping: 'premise=Statement,hypothesis=Claim,label=Label' },
    defaults: { premise: 'BP was high', hypothesis: 'BP was normal', label: 'Contradiction' },
    content: ['premise', 'hypothesis', 'label'],
    structural: [],
    build(v) {
      const row = (p: string) => JSON.stringify({ Statement: p, Claim: v.hypothesis, Label: v.label });
      return { files: { 'train.jsonl': [row(v.premise as string), row('other')].join('\n') }, broken: 'train.jsonl' };
    },
  },
  {
    name: 'wrapped JSON',
    importer: importJsonl,
    tasks: ['qa'],
    defaults: { question: 'Which dose?', option: '5 mg', key: 'questions' },
    content: ['question', 'option'],
    structural: ['key'],
    build(v) {
      const record = { question: v.question, options: [v.option, '10 mg'], answer: v.option };
      const json = JSON.stringify({ [v.key as string]: [record, record] }, null, 1);
      return { files: { 'train.json': json }, broken: 'train.json' };
    },
  },
  {
    name: 'CSV',
    importer: importCsv,
    tasks: ['summarization'],
    options: { mapping: 'source=CHQ,summary=Summary' },
    defaults: { source: 'my mother has pain', summary: 'pain', column: 'Extra' },
    content: ['source', 'summary'],
    structural: ['column'],
    build(v) {
      const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
      const csv = [
        `CHQ,Summary,${quote(v.column as string)}`,
        `${quote(v.source as string)},${quote(v.summary as string)},x`,
        'a,b,c',
      ];
      return { files: { 'train.csv': csv.join('\n') }, broken: 'train.csv' };
    },
  },
  {
    name: 'notes',
    importer: importNotes,
    tasks: ['ner'],
    defaults: { note: 'Seen today' },
    content: ['note'],
    structural: [],
    broken: 0.02, // any text is a note: only the invalid bytes break it
    build(v) {
      return { files: { 'n1.txt': `${v.note}\nplan: rest\n` }, broken: 'n1.txt' };
    },
  },
];

/** The ways one line of a real file goes wrong; each returns the new lines (bytes where noted). */
const LINE_MUTATIONS: readonly ((line: string) => string[])[] = [
  (l) => [l],
  (l) => [l.replace(/\t/g, ' ')],
  (l) => [
    l
      .split('\t')
      .filter((_, i) => i !== 1)
      .join('\t'),
  ],
  (l) => {
    const c = l.split('\t');
    return [[c[c.length - 1], ...c.slice(1, -1), c[0]].join('\t')];
  },
  (l) => [l.slice(0, Math.floor(l.length / 2))],
  () => [],
  (l) => [`${l.slice(0, l.length >> 1)}"${l.slice(l.length >> 1)}`],
  (l) => [`${l.slice(0, l.length >> 1)}<${l.slice(l.length >> 1)}`],
  (l) => [`${l}\t${l}`],
];

/** The same for one-line files: cut or insert at several places. */
const CHAR_MUTATIONS: readonly ((text: string, at: number) => string)[] = [
  (t, i) => t.slice(0, i),
  (t, i) => `${t.slice(0, i)}"${t.slice(i)}`,
  (t, i) => `${t.slice(0, i)}<${t.slice(i)}`,
  (t, i) => `${t.slice(0, i)}}${t.slice(i)}`,
  (t, i) => t.slice(0, i) + t.slice(i + 7),
];

/** Variants of a file's text: its lines (or characters) broken one at a time. */
function variants(text: string): (string | Buffer)[] {
  const out: (string | Buffer)[] = [];
  const lines = text.split('\n');
  if (lines.filter((l) => l !== '').length > 1) {
    lines.forEach((line, i) => {
      for (const mutate of LINE_MUTATIONS)
        out.push([...lines.slice(0, i), ...mutate(line), ...lines.slice(i + 1)].join('\n'));
    });
  } else {
    for (let k = 1; k <= 9; k++) {
      const i = Math.floor((text.length * k) / 10);
      for (const mutate of CHAR_MUTATIONS) out.push(mutate(text, i));
    }
  }
  // Bytes invalid in UTF-8 in the middle of the file, next to the note text.
  const middle = Buffer.from(text.slice(0, text.length >> 1));
  out.push(Buffer.concat([middle, Buffer.from([0xff, 0xfe, 0x80]), Buffer.from(text.slice(text.length >> 1))]));
  return out;
}

/** Writes one variant's files into a fresh folder (one folder reused: thousands of variants are read). */
function writeCase(files: Record<string, string | Buffer>): string {
  const dir = path.join(temp.dir, 'case');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

/** Every message one import gives: its error (must be a UserError), skipped records and notices. */
async function messages(format: Format, dir: string, options: ImportOptions): Promise<string[]> {
  const notices = new ImportNotices();
  const said: string[] = [];
  try {
    for await (const _ of format.importer(dir, { ...format.options, ...options, notices })) void _;
  } catch (error) {
    expect((error as Error).name, `${format.name}: ${(error as Error).stack}`).toBe('UserError');
    said.push((error as Error).message);
  }
  return [...said, ...notices.skipped, ...Object.keys(notices.counts)];
}

function leaks(message: string): boolean {
  const lower = message.toLowerCase();
  return TRACES.some((t) => lower.includes(t));
}

describe('no note text in any import message', () => {
  for (const format of FORMATS) {
    it(
      `${format.name}: a canary in every field, in broken files, never reaches a message`,
      { timeout: 120_000 },
      async () => {
        const plantings = [
          ...format.content.flatMap((field) => [ONE_WORD, MANY_WORDS].map((canary) => ({ field, canary }))),
          ...format.structural.map((field) => ({ field, canary: MANY_WORDS })),
        ];
        let imports = 0;
        let failures = 0;
        for (const { field, canary } of plantings) {
          const { files, broken } = format.build({ ...format.defaults, [field]: canary });
          for (const variant of variants(files[broken] as string)) {
            const dir = writeCase({ ...files, [broken]: variant });
            for (const task of format.tasks) {
              for (const skipBadRows of [false, true]) {
                const said = await messages(format, dir, { task, skipBadRows });
                imports++;
                failures += said.length > 0 ? 1 : 0;
                const leaked = said.filter(leaks);
                expect(leaked, `${format.name}, ${field} = "${canary}", --task ${task}`).toEqual([]);
              }
            }
          }
        }
        // The mutations must actually break files: most imports say something.
        expect(failures).toBeGreaterThan(imports * (format.broken ?? 1 / 3));
      },
    );
  }

  it('an .xlsx workbook with a canary in its cells, headers and sheet name never quotes it', async () => {
    const format = FORMATS.find((f) => f.name === 'CSV') as Format;
    // Cells are content (both canaries); headers and sheet names are structure (the multi-word one).
    const workbooks = [ONE_WORD, MANY_WORDS].flatMap((canary) => [
      {
        sheet: 'Sheet1',
        data: [
          ['CHQ', 'Summary'],
          [canary, ''],
        ],
      },
      {
        sheet: 'Sheet1',
        data: [
          ['CHQ', 'Summary'],
          ['', canary],
        ],
      },
      {
        sheet: 'Sheet1',
        data: [
          ['CHQ', 'Summary', 'Extra'],
          [canary, canary, canary, canary],
        ],
      },
    ]);
    workbooks.push(
      {
        sheet: 'Sheet1',
        data: [
          ['CHQ', MANY_WORDS],
          ['pain', 'short'],
        ],
      },
      {
        sheet: MANY_WORDS,
        data: [
          [MANY_WORDS, 'Summary'],
          ['pain', 'short'],
        ],
      },
    );
    for (const workbook of workbooks) {
      const dir = writeCase({ 'train.xlsx': await writeXlsxFile([workbook]).toBuffer() });
      for (const options of [{}, { sheet: 'Missing' }, { sheet: '2' }, { groupBy: 'Missing' }, { skipBadRows: true }]) {
        const said = await messages(format, dir, { task: 'summarization', ...options });
        expect(said.filter(leaks), JSON.stringify(workbook)).toEqual([]);
      }
    }
  });

  it('the NLI4CT preset never quotes a trial or section id that is not shaped like one', async () => {
    const format = FORMATS.find((f) => f.name === 'JSONL') as Format;
    const statement = (fields: Record<string, string>) =>
      JSON.stringify({
        '0a1b': {
          Type: 'Single',
          Section_id: 'Eligibility',
          Primary_id: 'NCT01',
          Statement: 'x',
          Label: 'Entailment',
          ...fields,
        },
      });
    for (const fields of [{ Primary_id: MANY_WORDS }, { Section_id: MANY_WORDS }, { Secondary_id: MANY_WORDS }]) {
      const dir = writeCase({ 'train.json': statement(fields) });
      mkdirSync(path.join(dir, 'ct-json'));
      writeFileSync(path.join(dir, 'ct-json', 'NCT01.json'), JSON.stringify({ Eligibility: ['Adults'] }));
      const said = await messages({ ...format, options: { mapping: 'preset:nli4ct' } }, dir, { task: 'nli' });
      expect(said).toHaveLength(1);
      expect(said.filter(leaks)).toEqual([]);
    }
  });

  it("the issue's own example: a BRAT line with spaces for tabs prints none of its text", async () => {
    const dir = writeCase({
      'a.txt': 'Patient John Smith was seen.',
      'a.ann': 'T1 PATIENT_NAME 8 18 John Smith\n',
    });
    const said = await messages(FORMATS[0] as Format, dir, { task: 'ner' });
    expect(said).toEqual([
      `${path.join(dir, 'a.ann')}, line 1: the line does not start with an annotation id (T1, R1, E1, A1, M1, N1, #1 or *) followed by a tab. Fix the file and import again; nothing was imported.`,
    ]);
  });
});
