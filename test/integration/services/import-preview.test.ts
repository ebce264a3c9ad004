/**
 * The Import step's file preview (`imports.preview`) through the IPC dispatcher, on a real
 * encrypted store and the public files in ../shared/data: the first records as the import reads
 * them, the task's fields with the file's columns guessed or named by a preset, the import's own
 * permission, bad files refused with the field they concern, and nothing written to the log.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { log } from '../../../src-main/common/log.js';
import type { Envelope, ImportPreview, ImportPreviewRequest } from '../../../src-main/ipc/contract.js';
import { createDispatcher } from '../../../src-main/ipc/dispatcher.js';
import { createServices } from '../../../src-main/services/index.js';
import { addUser } from '../../../src-main/services/store-admin.js';
import { SHARED_DIR } from '../../support/paths.js';
import { makeTempDir } from '../../support/temp.js';

const FAST_SCRYPT = { N: 2 ** 14, r: 8, p: 1 };
const DATA = path.join(SHARED_DIR, 'data');
const tmp = makeTempDir('clinprompt-import-preview-');
const home = path.join(tmp.dir, 'home');
const services = createServices({ dataDir: home, sharedDataDir: DATA, store: { scrypt: FAST_SCRYPT } });
const dispatcher = createDispatcher(services.handlers);

/** What the renderer gets for a preview request: the validated call, as the app makes it. */
async function preview(request: ImportPreviewRequest): Promise<Envelope<ImportPreview>> {
  return (await dispatcher.invoke('imports.preview', [request])) as Envelope<ImportPreview>;
}

async function previewed(request: ImportPreviewRequest): Promise<ImportPreview> {
  const envelope = await preview(request);
  if (!envelope.ok) throw new Error(`preview refused: ${envelope.error.message}`);
  return envelope.value;
}

/** The columns each field starts with, by field name. */
const picked = (p: ImportPreview) => Object.fromEntries(p.fields.map((f) => [f.name, f.columns]));

beforeAll(async () => {
  await services.store.setUp({ passphrase: 'import preview passphrase' });
});
afterAll(async () => {
  await services.dispose();
  tmp.cleanup();
});

describe('imports.preview on the public data', () => {
  it('MeQSum (CSV): its first 5 rows under its own columns, and a guess for every summarization field', async () => {
    const file = path.join(DATA, 'sum/meqsum/meqsum.csv');
    const p = await previewed({ format: 'csv', path: file, task: 'summarization' });
    // an independent read of the same file
    const [header, ...records] = parseCsv(readFileSync(file), { to_line: 40 }) as string[][];
    expect(p.file).toBe(file);
    expect(p.columns).toEqual(header);
    expect(p.rows).toEqual(
      records.slice(0, 5).map((r) => r.map((cell) => cell.slice(0, 400) + (cell.length > 400 ? '…' : ''))),
    );
    expect(picked(p)).toEqual({ source: ['CHQ'], summary: ['Summary'], id: ['File'], split: [] });
    expect(p.fields.map((f) => [f.name, f.required])).toEqual([
      ['source', true],
      ['summary', true],
      ['id', false],
      ['split', false],
    ]);
  });

  it('MedMCQA (JSONL): limit rows, option columns as one list field, the 1-based answer column', async () => {
    const file = path.join(DATA, 'qa/medmcqa/data/dev.json');
    const p = await previewed({ format: 'jsonl', path: file, task: 'qa', limit: 2 });
    const first = JSON.parse(readFileSync(file, 'utf8').split('\n')[0] as string) as Record<string, unknown>;
    expect(p.columns).toEqual(Object.keys(first));
    expect(p.rows).toHaveLength(2);
    expect(p.rows[0]).toEqual(Object.values(first).map((v) => (v === null ? '' : String(v))));
    expect(picked(p)).toMatchObject({
      question: ['question'],
      options: ['opa', 'opb', 'opc', 'opd'],
      answerIndex: ['cop'],
      answer: [],
      context: [],
      id: ['id'],
    });
    expect(p.fields.find((f) => f.name === 'options')?.list).toBe(true);
  });

  it('ChemProt (a JSONL folder): the first split file the import reads; a preset mapping pre-fills its columns', async () => {
    const folder = path.join(DATA, 're/chemprot');
    const p = await previewed({ format: 'jsonl', path: folder, task: 're', mapping: 'text=text,label=label' });
    expect(p.file).toBe(path.join(folder, 'dev.txt'));
    expect(p.columns).toEqual(['text', 'label', 'metadata']);
    expect(p.rows[0]?.[1]).toBe('INDIRECT-DOWNREGULATOR');
    expect(picked(p)).toMatchObject({ text: ['text'], label: ['label'], head: [], tail: [] });
  });

  it('a mapping naming columns the file lacks falls back to the guess', async () => {
    const file = path.join(DATA, 'sum/meqsum/meqsum.csv');
    const p = await previewed({ format: 'csv', path: file, task: 'summarization', mapping: 'source=dialogue' });
    expect(picked(p)['source']).toEqual(['CHQ']);
  });

  it('PubMedQA through its preset, NCBI-disease (CoNLL) and DDI (BRAT): the first examples, nothing to map', async () => {
    const pubmedqa = await previewed({
      format: 'jsonl',
      path: path.join(DATA, 'qa/pubmedqa/ori_pqal.json'),
      task: 'qa',
      mapping: 'preset:pubmedqa',
    });
    expect(pubmedqa.fields).toEqual([]);
    expect(pubmedqa.columns).toEqual(expect.arrayContaining(['id', 'split', 'question', 'context', 'target']));
    expect(pubmedqa.rows).toHaveLength(5);
    const question = pubmedqa.columns.indexOf('question');
    expect(pubmedqa.rows[0]?.[question]).toBe(
      'Do mitochondria play a role in remodelling lace plant leaves during programmed cell death?',
    );
    expect(pubmedqa.rows[0]?.[pubmedqa.columns.indexOf('target')]).toMatch(/^(yes|no|maybe)$/);

    const ncbi = await previewed({ format: 'conll', path: path.join(DATA, 'ner/ncbi-disease'), task: 'ner' });
    expect(ncbi.columns).toEqual(['id', 'split', 'text', 'target']);
    expect(ncbi.rows).toHaveLength(5);
    expect(ncbi.fields).toEqual([]);
    // the target as the task writes it: one mention [SEP] TYPE a line, or none
    expect(ncbi.rows.map((r) => r[3])).toContainEqual(expect.stringMatching(/ \[SEP\] Disease/));

    const ddi = await previewed({ format: 'brat', path: path.join(DATA, 're/ddi-brat'), task: 're', limit: 3 });
    expect(ddi.rows).toHaveLength(3);
    expect(ddi.columns).toEqual(expect.arrayContaining(['id', 'split', 'text', 'target']));
  });
});

describe("imports.preview of ClinPrompt's own rows", () => {
  it('shows { input, target } JSONL rows as the importer reads them, with nothing to map', async () => {
    const file = path.join(tmp.dir, 'own.jsonl');
    const row = (question: string) => ({
      input: { kind: 'multiple-choice', question, options: ['Adrenaline', 'Atropine'] },
      target: null,
      labels: [],
    });
    writeFileSync(
      file,
      [row('First-line drug for anaphylaxis?'), row('Antidote for organophosphates?')]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const p = await previewed({ format: 'jsonl', path: file, task: 'qa' });
    expect(p.fields).toEqual([]);
    expect(p.columns).toEqual(expect.arrayContaining(['question', 'options', 'target']));
    expect(p.rows.map((r) => r[p.columns.indexOf('question')])).toEqual([
      'First-line drug for anaphylaxis?',
      'Antidote for organophosphates?',
    ]);
  });
});

describe('JSON whose records sit under a top-level key', () => {
  const questions = {
    version: '2',
    questions: [
      { id: 'q1', body: 'Is aspirin an NSAID?', exact_answer: 'yes' },
      { id: 'q2', body: 'Is insulin a lipid?', exact_answer: 'no' },
    ],
  };

  it('is previewed there, with the key the import needs; the import without it names the records setting only', async () => {
    const file = path.join(tmp.dir, 'bioasq-like.json');
    writeFileSync(file, JSON.stringify(questions));
    const p = await previewed({ format: 'jsonl', path: file, task: 'qa' });
    expect(p.records).toBe('questions');
    expect(p.columns).toEqual(['id', 'body', 'exact_answer']);
    expect(p.rows.map((r) => r[1])).toEqual(['Is aspirin an NSAID?', 'Is insulin a lipid?']);
    // given the key, the preview reads the same rows and has nothing more to say
    expect(
      (await previewed({ format: 'jsonl', path: file, task: 'qa', records: 'questions' })).records,
    ).toBeUndefined();

    const mapping = { question: ['body'], answer: ['exact_answer'] };
    const refused = await dispatcher.invoke('datasets.import', [
      { format: 'jsonl', path: file, task: 'qa', name: 'wrapped', mapping },
    ]);
    expect(refused).toEqual({
      ok: false,
      error: {
        code: 'INVALID_ARGUMENT',
        field: 'records',
        message: `The records of ${file} sit in a list under its top-level key "questions": give that key`,
      },
    });
    const imported = await dispatcher.invoke('datasets.import', [
      { format: 'jsonl', path: file, task: 'qa', name: 'wrapped', mapping, records: 'questions' },
    ]);
    expect(imported).toMatchObject({ ok: true, value: { counts: { total: 2 }, labelSet: ['yes', 'no'] } });
  });
});

describe('imports.preview refuses', () => {
  const bad = (name: string, content: string) => {
    const file = path.join(tmp.dir, name);
    writeFileSync(file, content);
    return file;
  };

  it('a malformed file, naming the file, the line and the File or folder field, never its text', async () => {
    const unclosed = bad('unclosed.csv', 'note,label\n"Qxzv Smithwick, fine",yes\n"Qxzv Smithwick is unwell,no\n');
    const envelope = await preview({ format: 'csv', path: unclosed, task: 'nli' });
    expect(envelope).toMatchObject({ ok: false, error: { code: 'BAD_FILE', field: 'path' } });
    const { message } = (envelope as { error: { message: string } }).error;
    expect(message).toContain(`${unclosed}, line 3`);
    expect(message).toMatch(/quoted field opened here is never closed/);
    expect(message).not.toMatch(/qxzv|smithwick/i);

    const jsonl = bad('broken.jsonl', '{"text": "Qxzv one", "label": "a"}\n{"text": "Qxzv two", \n');
    expect(await preview({ format: 'jsonl', path: jsonl, task: 'ner' })).toMatchObject({
      ok: false,
      error: { code: 'BAD_FILE', field: 'path', message: expect.stringContaining(`${jsonl}, line 2`) },
    });

    const twice = bad('twice.csv', 'text,text\nQxzv,Smithwick\n');
    expect(await preview({ format: 'csv', path: twice, task: 'ner' })).toMatchObject({
      ok: false,
      error: { code: 'BAD_FILE', field: 'path', message: expect.stringContaining('names the column "text" twice') },
    });

    const empty = bad('empty.csv', 'text,label\n');
    expect(await preview({ format: 'csv', path: empty, task: 'ner' })).toMatchObject({
      ok: false,
      error: { code: 'BAD_FILE', field: 'path', message: `${empty} holds no rows. Check the path and the format.` },
    });
  });

  it('a missing file, a format that holds another task, and an empty path, each by its field', async () => {
    const missing = path.join(tmp.dir, 'nowhere.csv');
    expect(await preview({ format: 'csv', path: missing, task: 'ner' })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND', field: 'path' },
    });
    expect(
      await preview({ format: 'conll', path: path.join(DATA, 'ner/ncbi-disease/devel.tsv'), task: 'nli' }),
    ).toMatchObject({ ok: false, error: { code: 'UNSUPPORTED', field: 'task' } });
    expect(await preview({ format: 'csv', path: ' ', task: 'ner' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT', field: 'path', message: 'Choose a file or folder.' },
    });
    expect(
      await preview({ format: 'csv', path: path.join(DATA, 'sum/meqsum/meqsum.csv'), task: 'nli', mapping: 'premise' }),
    ).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', field: 'mapping' } });
  });

  it('a person without the import permission; a clinician may look at notes, which they may import', async () => {
    const notes = path.join(tmp.dir, 'notes');
    mkdirSync(notes);
    writeFileSync(path.join(notes, 'a.txt'), 'Ward note: stable overnight.');
    await services.store.use((store, session) =>
      addUser(
        store,
        session,
        { username: 'clin', role: 'clinician' },
        { passphrase: 'clinician passphrase', scrypt: FAST_SCRYPT },
      ),
    );
    const clinician = createServices({ dataDir: home, store: { username: 'clin', scrypt: FAST_SCRYPT } });
    try {
      await clinician.store.unlock({ passphrase: 'clinician passphrase' });
      const asClinician = createDispatcher(clinician.handlers);
      const csv = path.join(DATA, 'sum/meqsum/meqsum.csv');
      expect(
        await asClinician.invoke('imports.preview', [{ format: 'csv', path: csv, task: 'summarization' }]),
      ).toEqual({
        ok: false,
        error: {
          code: 'PERMISSION_DENIED',
          message:
            'User "clin" (role clinician) may not import a csv dataset (needs datasets.import). Ask an informatics-admin to change your role.',
        },
      });
      expect(
        await asClinician.invoke('imports.preview', [{ format: 'notes', path: notes, task: 'ner' }]),
      ).toMatchObject({
        ok: true,
        value: {
          columns: ['id', 'split', 'text', 'target'],
          rows: [['a.txt', 'test', 'Ward note: stable overnight.', '']],
        },
      });
    } finally {
      await clinician.dispose();
    }
  });
});

describe('imports.preview leaves no trace', () => {
  it('writes no log line, even at debug level, and no audit entry', async () => {
    const lines: string[] = [];
    const previous = log.setSink((line) => lines.push(line));
    log.setLevel('debug');
    const audit = () => services.store.use((store) => store.db.prepare('SELECT count(*) FROM audit_log').pluck().get());
    const before = await audit();
    try {
      await previewed({ format: 'csv', path: path.join(DATA, 'sum/meqsum/meqsum.csv'), task: 'summarization' });
      await preview({ format: 'csv', path: path.join(tmp.dir, 'unclosed.csv'), task: 'nli' });
    } finally {
      log.setSink(previous);
      log.setLevel('warn');
    }
    expect(lines).toEqual([]);
    expect(await audit()).toBe(before);
  });
});
