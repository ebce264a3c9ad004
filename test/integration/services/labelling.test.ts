/**
 * The Label step's requests on a real encrypted store: labels saved as annotations on a note copy
 * of each example, the example rewritten as a train example of `<dataset>-labelled` (with the Task
 * step's label set and template) that Adapt reads, undo, and the annotations.write refusal.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { TaskSetup } from '../../../src-main/ipc/contract.js';
import { createServices } from '../../../src-main/services/index.js';
import { addUser } from '../../../src-main/services/store-admin.js';
import { readStoreData } from '../../../src-main/services/training.js';
import { learnableNliRows } from '../../support/learnable-task.js';
import { makeTempDir } from '../../support/temp.js';

const FAST_SCRYPT = { N: 2 ** 14, r: 8, p: 1 };
const tmp = makeTempDir('clinprompt-labelling-');
const home = path.join(tmp.dir, 'home');
const services = createServices({ dataDir: home, store: { scrypt: FAST_SCRYPT } });
const h = services.handlers;
afterAll(async () => {
  await services.dispose();
  tmp.cleanup();
});

const NLI = {
  type: 'nli' as const,
  labels: ['entailment', 'contradiction'],
  template: 'P: {{premise}} H: {{hypothesis}} ({{labels}})',
};
const NER = { type: 'ner' as const, labels: ['problem', 'treatment'] };
const items = (dataset: string, task: TaskSetup) => h['labels.items']({ dataset, task, limit: 200 });

describe('labelling in the app', () => {
  it('saves labels as they are made, makes train examples of them, undoes the last one', async () => {
    await services.store.setUp({ passphrase: 'labelling service passphrase' });
    const notes = path.join(tmp.dir, 'ward.jsonl');
    const rows = learnableNliRows({ train: 0, dev: 0, test: 3 }, 3).map((r) =>
      JSON.stringify({ ...r, target: null, labels: [] }),
    );
    writeFileSync(notes, rows.join('\n') + '\n');
    await h['datasets.import']({ format: 'jsonl', path: notes, task: 'nli', name: 'ward' });

    const session = await items('ward', NLI);
    expect(session).toMatchObject({ source: 'ward', labelledDataset: 'ward-labelled', labelled: 0 });
    expect(session.items).toHaveLength(3);
    const [a, b] = session.items;
    expect(a!.fields['premise']).toMatch(/was very/);
    expect(a!.choices).toEqual(NLI.labels); // the Task step's labels: notes bring none

    await h['labels.add']({ dataset: 'ward', task: NLI, exampleId: a!.exampleId, label: 'entailment' });
    await h['labels.add']({ dataset: 'ward', task: NLI, exampleId: a!.exampleId, label: 'contradiction' });
    const second = await h['labels.add']({ dataset: 'ward', task: NLI, exampleId: b!.exampleId, label: 'entailment' });
    expect(second.labelled).toBe(2);
    // a label outside the set is refused, naming the field, without a row
    await expect(
      h['labels.add']({ dataset: 'ward', task: NLI, exampleId: b!.exampleId, label: 'neutral' }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'label' });

    // undo takes back the newest label only: a's newest label wins again after b's is gone
    const undone = await h['labels.undo']({ dataset: 'ward', task: NLI });
    expect(undone).toMatchObject({ exampleId: b!.exampleId, marks: [], labelled: 1, undone: { label: 'entailment' } });

    await services.store.use((store, s) => {
      const rowsOf = store.db
        .prepare(
          `SELECT a.label, a.created_by AS by, n.collection FROM annotations a JOIN notes n ON n.id = a.note_id ORDER BY a.id`,
        )
        .all();
      expect(rowsOf).toEqual([
        { label: 'entailment', by: s.user.username, collection: `labelling:${store.datasets.get('ward').id}` },
        { label: 'contradiction', by: s.user.username, collection: `labelling:${store.datasets.get('ward').id}` },
      ]);
      const labelled = store.datasets.get('ward-labelled');
      expect(labelled).toMatchObject({ taskType: 'nli', labelSet: NLI.labels, counts: { train: 1, total: 1 } });
      expect(labelled.meta).toMatchObject({ source: 'ward', template: NLI.template });
      // what Adapt trains on: the labelled dataset's train example, with the Task step's template
      const data = readStoreData({ store, session: s }, 'ward-labelled', {
        permission: 'notes.read',
        action: 'datasets.train-read',
        purpose: 'train on a dataset',
      });
      expect(data.task).toEqual({ type: 'nli', labels: NLI.labels, template: NLI.template });
      expect(data.examples).toEqual([
        expect.objectContaining({ split: 'train', externalId: a!.externalId, target: { label: 'contradiction' } }),
      ]);
      expect(data.version).toMatch(/:r\d+$/);
    });
    // the source notes are unchanged: still unlabelled, still listed with their marks
    const again = await items('ward', NLI);
    expect(again.items.map((i) => i.marks.map((m) => m.label))).toEqual([['entailment', 'contradiction'], [], []]);
  });

  it('snaps an NER span to whole words and refuses relation labelling', async () => {
    const folder = path.join(tmp.dir, 'ner-notes');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'a.txt'), 'Febrile overnight, started ceftriaxone.');
    await h['datasets.import']({ format: 'notes', path: folder, task: 'ner', name: 'ner-ward' });
    const [item] = (await items('ner-ward', NER)).items;
    const change = await h['labels.add']({
      dataset: 'ner-ward',
      task: NER,
      exampleId: item!.exampleId,
      label: 'treatment',
      start: 29,
      end: 33,
    });
    expect(change.marks).toEqual([expect.objectContaining({ label: 'treatment', start: 27, end: 38 })]);
    expect(item!.text.slice(27, 38)).toBe('ceftriaxone');
    await services.store.use((store) => {
      expect(store.datasets.examples(store.datasets.get('ner-ward-labelled').id)[0]).toMatchObject({
        split: 'train',
        target: { entities: [{ start: 27, end: 38, type: 'treatment', text: 'ceftriaxone' }] },
        labels: ['treatment'],
      });
    });
    await expect(items('ner-ward', { type: 're', labels: [] })).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      field: 'type',
    });
  });

  it('refuses a person without annotations.write where labels are saved, and saves nothing', async () => {
    await services.store.use((store, session) =>
      addUser(
        store,
        session,
        { username: 'aud', role: 'auditor' },
        { passphrase: 'auditor passphrase', scrypt: FAST_SCRYPT },
      ),
    );
    const before = await services.store.use((store) =>
      store.db.prepare('SELECT count(*) FROM annotations').pluck().get(),
    );
    const exampleId = (await items('ward', NLI)).items[2]!.exampleId;
    const auditor = createServices({ dataDir: home, store: { username: 'aud', scrypt: FAST_SCRYPT } });
    try {
      await auditor.store.unlock({ passphrase: 'auditor passphrase' });
      await expect(
        auditor.handlers['labels.add']({ dataset: 'ward', task: NLI, exampleId, label: 'entailment' }),
      ).rejects.toMatchObject({
        code: 'PERMISSION_DENIED',
        message:
          'User "aud" (role auditor) may not label notes (needs annotations.write). Ask an informatics-admin to change your role.',
      });
      await expect(auditor.handlers['labels.undo']({ dataset: 'ward', task: NLI })).rejects.toMatchObject({
        code: 'PERMISSION_DENIED',
      });
    } finally {
      await auditor.dispose();
    }
    const after = await services.store.use((store) =>
      store.db.prepare('SELECT count(*) FROM annotations').pluck().get(),
    );
    expect(after).toBe(before);
  });
});
