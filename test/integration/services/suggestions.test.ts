/**
 * The Label step's suggestions on a real encrypted store: the examples about to be labelled run as
 * a `predict` job in a worker thread (the one inference path) with the embedded backbone and its
 * shipped meta-prompt as stage 3 starts it, or with no prompt; answers come back under the example
 * ids; the read is audited without note text; a backbone without a meta-prompt is refused by name.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { NoteRunView } from '../../../src-main/ipc/contract.js';
import { createServices } from '../../../src-main/services/index.js';
import { learnableNliRows } from '../../support/learnable-task.js';
import { makeTempDir } from '../../support/temp.js';
import { STORIES_DIR } from '../../support/tiny-llama.js';

const tmp = makeTempDir('clinprompt-suggestions-');
const services = createServices({ dataDir: path.join(tmp.dir, 'home'), store: { scrypt: { N: 2 ** 14, r: 8, p: 1 } } });
const h = services.handlers;
afterAll(async () => {
  await services.dispose();
  tmp.cleanup();
});

const NLI = { type: 'nli' as const, labels: ['entailment', 'contradiction'] };
const NER_NOTE = 'Febrile overnight, started ceftriaxone.';

describe('suggested labels', () => {
  it('suggests closed labels from the shipped meta-prompt, keyed by example id, audited without text', async () => {
    await services.store.setUp({ passphrase: 'suggestions passphrase' });
    const file = path.join(tmp.dir, 'ward.jsonl');
    const rows = learnableNliRows({ train: 0, dev: 0, test: 3 }, 5).map((r) =>
      JSON.stringify({ ...r, target: null, labels: [] }),
    );
    writeFileSync(file, rows.join('\n') + '\n');
    await h['datasets.import']({ format: 'jsonl', path: file, task: 'nli', name: 'ward' });
    const { items } = await h['labels.items']({ dataset: 'ward', task: NLI, limit: 200 });
    const ids = items.slice(1).map((i) => i.exampleId);

    const started = await h['labels.suggest']({
      dataset: 'ward',
      task: NLI,
      exampleIds: ids,
      from: { kind: 'shipped' },
    });
    const done = await services.jobs.wait(started.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    const run = done.result as NoteRunView;
    expect(run.run).toMatch(/meta-prompt$/);
    expect(run.results.map((r) => r.id)).toEqual(ids.map(String));
    for (const r of run.results) expect(NLI.labels).toContain(r.answer);

    const entry = await services.store.use((s) => s.audit.recent(5).find((e) => e.action === 'labels.suggest-read'));
    expect(entry?.details).toEqual({ examples: 2 });
    expect(JSON.stringify(entry)).not.toMatch(/was very/);
  });

  it('suggests NER mentions with no prompt on a backbone without a meta-prompt, and refuses its meta-prompt', async () => {
    const folder = path.join(tmp.dir, 'ner-notes');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'a.txt'), NER_NOTE);
    await h['datasets.import']({ format: 'notes', path: folder, task: 'ner', name: 'ner-ward' });
    const task = { type: 'ner' as const, labels: ['problem', 'treatment'] };
    const { items } = await h['labels.items']({ dataset: 'ner-ward', task, limit: 200 });
    const [item] = items;
    // the words the keyboard's cursor moves over, as spans snap to them
    expect(item!.words?.map((w) => NER_NOTE.slice(w.start, w.end))).toEqual([
      'Febrile',
      'overnight',
      'started',
      'ceftriaxone',
    ]);
    const request = { backbone: STORIES_DIR, dataset: 'ner-ward', task, exampleIds: [item!.exampleId] };
    await expect(h['labels.suggest']({ ...request, from: { kind: 'shipped' } })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      field: 'from',
    });
    const started = await h['labels.suggest']({ ...request, from: { kind: 'none' } });
    const done = await services.jobs.wait(started.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    const run = done.result as NoteRunView;
    expect(run).toMatchObject({ task: 'ner', run: '', n: 1 });
    expect(run.results[0]!.id).toBe(String(item!.exampleId));
    // whatever the tiny model wrote, mentions it found lie inside the note
    for (const e of run.results[0]!.entities ?? [])
      if (e.start >= 0) expect(e.end).toBeLessThanOrEqual(NER_NOTE.length);

    // a dataset of another task is refused before any worker starts
    await expect(h['labels.suggest']({ ...request, dataset: 'ward', from: { kind: 'none' } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'dataset',
    });
  });
});
