/**
 * The Run step's results leaving the store: a BRAT folder for NER through the audited export
 * (real encrypted store, real files), refused for a task BRAT cannot hold and over an existing file.
 */
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { NoteRunView } from '../../../src-main/ipc/contract.js';
import { createServices } from '../../../src-main/services/index.js';
import { noteResult } from '../../../src-main/services/note-run.js';
import { exportNoteRun } from '../../../src-main/services/note-results.js';
import { makeTempDir } from '../../support/temp.js';

const tmp = makeTempDir('clinprompt-note-results-');
const services = createServices({ dataDir: path.join(tmp.dir, 'home'), store: { scrypt: { N: 2 ** 14, r: 8, p: 1 } } });
afterAll(async () => {
  await services.dispose();
  tmp.cleanup();
});

const TEXT = 'Fever and cough since Monday.';

describe('exporting a note run', () => {
  it('writes BRAT standoff for NER, audited without note text, and refuses BRAT for NLI and an existing target', async () => {
    await services.store.setUp({ passphrase: 'note results passphrase' });
    const folder = path.join(tmp.dir, 'notes');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'note-1.txt'), TEXT);
    await services.handlers['datasets.import']({ format: 'notes', path: folder, task: 'ner', name: 'ward' });
    const task = { type: 'ner' as const, labels: ['SYMPTOM'] };
    const example = {
      split: 'test' as const,
      externalId: 'note-1.txt',
      input: { text: TEXT },
      target: null,
      labels: [],
    };
    const view: NoteRunView = {
      task: 'ner',
      dataset: 'ward',
      run: '/runs/pt-abc',
      n: 1,
      unparseable: 0,
      results: [noteResult(task, example, { id: 'note-1.txt', output: 'Fever [SEP] SYMPTOM\nrash [SEP] SYMPTOM' })],
    };
    const out = path.join(tmp.dir, 'out', 'ward-brat');
    const written = await services.store.use((s, session) => exportNoteRun(s, session, view, { format: 'brat', out }));
    expect(written).toEqual({ file: out, notes: 1, format: 'brat' });
    expect(readdirSync(path.join(out, 'test')).sort()).toEqual(['note-1.ann', 'note-1.txt']);
    expect(readFileSync(path.join(out, 'test', 'note-1.txt'), 'utf8')).toBe(TEXT);
    // the mention the note does not contain (rash) is left out
    expect(readFileSync(path.join(out, 'test', 'note-1.ann'), 'utf8')).toBe('T1\tSYMPTOM 0 5\tFever\n');
    if (process.platform !== 'win32') expect(statSync(out).mode & 0o777).toBe(0o700);

    const entry = await services.store.use((s) => s.audit.recent(5).find((e) => e.action === 'notes.results-export'));
    expect(entry?.details).toMatchObject({ format: 'brat', notes: 1, run: 'pt-abc', file: out });
    expect(JSON.stringify(entry)).not.toContain('Fever');

    await expect(
      services.store.use((s, session) =>
        exportNoteRun(s, session, { ...view, task: 'nli' }, { format: 'brat', out: path.join(tmp.dir, 'nli') }),
      ),
    ).rejects.toMatchObject({ code: 'UNSUPPORTED', field: 'format' });
    await expect(
      services.store.use((s, session) => exportNoteRun(s, session, view, { format: 'brat', out })),
    ).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it('refuses to export the results of a job that is not a finished run over notes', async () => {
    const job = services.jobs.start({ kind: 'system-check' });
    await services.jobs.wait(job.jobId);
    await expect(
      services.handlers['notes.export']({ jobId: job.jobId, format: 'jsonl', out: path.join(tmp.dir, 'x.jsonl') }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'jobId' });
  });
});
