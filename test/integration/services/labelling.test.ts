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
import { RE_MENTION } from '../../../src-main/tasks/labelling.js';
import { frameExample } from '../../../src-main/tasks/registry.js';
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
const RE = { type: 're' as const, labels: ['treats', 'causes'] };
const RE_NOTE = 'Febrile overnight, started ceftriaxone.';
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

  it('snaps an NER span to whole words and refuses a dataset of another task type', async () => {
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
    await expect(items('ner-ward', RE)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'dataset' });
  });

  it('draws an RE relation between an imported mention and one marked in the app, as the BRAT importer frames it', async () => {
    const folder = path.join(tmp.dir, 're-notes');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'a.txt'), RE_NOTE);
    // mentions but no relation yet: an example still to label
    writeFileSync(path.join(folder, 'a.ann'), `T1\tProblem 0 7\tFebrile\n`);
    await h['datasets.import']({ format: 'brat', path: folder, task: 're', name: 're-ward' });
    const [item] = (await items('re-ward', RE)).items;
    expect(item).toMatchObject({
      text: RE_NOTE,
      choices: RE.labels,
      entities: [{ start: 0, end: 7, type: 'Problem' }],
    });
    const drug = { start: RE_NOTE.indexOf('ceftriaxone'), end: RE_NOTE.indexOf('ceftriaxone') + 11 };
    const relation = { dataset: 're-ward', task: RE, exampleId: item!.exampleId, label: 'treats' };
    // a relation needs both ends to be mentions of the note
    await expect(h['labels.add']({ ...relation, head: drug, tail: { start: 0, end: 7 } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'head',
    });
    const marked = await h['labels.add']({
      ...relation,
      label: RE_MENTION,
      start: drug.start + 2,
      end: drug.start + 4,
    });
    expect(marked).toMatchObject({ labelled: 0, marks: [{ label: RE_MENTION, ...drug }] });
    await expect(
      h['labels.add']({ ...relation, label: 'cures', head: drug, tail: { start: 0, end: 7 } }),
    ).rejects.toMatchObject({
      field: 'label',
    });
    const drawn = await h['labels.add']({ ...relation, head: drug, tail: { start: 0, end: 7 } });
    expect(drawn.labelled).toBe(1);
    expect(drawn.marks.at(-1)).toMatchObject({ label: 'treats', start: null, head: drug, tail: { start: 0, end: 7 } });
    // undo takes the relation back (the example is no longer labelled), the mention stays
    expect(await h['labels.undo']({ dataset: 're-ward', task: RE })).toMatchObject({
      labelled: 0,
      marks: [{ label: RE_MENTION }],
    });
    const again = await h['labels.add']({ ...relation, head: drug, tail: { start: 0, end: 7 } });
    // reversing swaps the ends in the store; undo turns it back under the relation's own id
    const reversible = { dataset: 're-ward', task: RE, exampleId: item!.exampleId };
    const mention = again.marks.find((m) => m.label === RE_MENTION)!;
    await expect(h['labels.reverse']({ ...reversible, markId: mention.id })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      field: 'markId',
    });
    const original = again.marks.at(-1)!;
    const reversed = await h['labels.reverse']({ ...reversible, markId: original.id });
    expect(reversed).toMatchObject({ labelled: 1 });
    expect(reversed.marks.at(-1)).toMatchObject({ label: 'treats', head: { start: 0, end: 7 }, tail: drug });
    const storedHeads = () =>
      services.store.use((store) => {
        const labelled = store.datasets.get('re-ward-labelled');
        return store.datasets
          .examples(labelled.id)
          .map((e) => (e.target as { relations: { head: { text: string } }[] }).relations.map((r) => r.head.text));
      });
    expect(await storedHeads()).toEqual([['Febrile']]);
    const undone = await h['labels.undo']({ dataset: 're-ward', task: RE });
    expect(undone.marks.at(-1)).toEqual(original);
    expect(await storedHeads()).toEqual([['ceftriaxone']]);

    // the same document labelled in BRAT and imported: the train example Adapt reads is framed the same
    const brat = path.join(tmp.dir, 're-brat');
    mkdirSync(brat);
    writeFileSync(path.join(brat, 'a.txt'), RE_NOTE);
    writeFileSync(
      path.join(brat, 'a.ann'),
      `T1\tProblem 0 7\tFebrile\nT2\tmention ${drug.start} ${drug.end}\tceftriaxone\nR1\ttreats Arg1:T2 Arg2:T1\n`,
    );
    await h['datasets.import']({ format: 'brat', path: brat, task: 're', name: 're-brat' });
    await services.store.use((store, s) => {
      const read = (name: string) =>
        readStoreData({ store, session: s }, name, {
          permission: 'notes.read',
          action: 'datasets.train-read',
          purpose: 'train on a dataset',
        });
      const labelled = read('re-ward-labelled');
      expect(labelled.task).toMatchObject({ type: 're', labels: RE.labels });
      const imported = read('re-brat').examples[0]!;
      const made = labelled.examples[0]!;
      expect(made).toMatchObject({ split: 'train', labels: ['treats'] });
      const strip = (t: unknown) => JSON.parse(JSON.stringify(t), (k, v) => (k === 'id' ? undefined : v)) as unknown;
      expect(strip(made.target)).toEqual(strip(imported.target));
      const task = { type: 're' as const, labels: RE.labels };
      expect(frameExample(task, made.input as never, made.target as never)).toEqual(
        frameExample(task, imported.input as never, imported.target as never),
      );
    });
  });

  it("shows a question's options as lettered lines, the letters its choice buttons carry", async () => {
    const file = path.join(tmp.dir, 'quiz.jsonl');
    const question = {
      split: 'test',
      input: {
        kind: 'multiple-choice',
        question: 'First-line drug for anaphylaxis?',
        options: ['Adrenaline', 'Atropine'],
      },
      target: null,
      labels: [],
    };
    writeFileSync(file, JSON.stringify(question) + '\n');
    await h['datasets.import']({ format: 'jsonl', path: file, task: 'qa', name: 'quiz' });
    const [item] = (await items('quiz', { type: 'qa', labels: [] })).items;
    expect(item!.fields['options']).toBe('A. Adrenaline\nB. Atropine');
    expect(item!.choices).toEqual(['A', 'B']);
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
      await expect(
        auditor.handlers['labels.add']({
          dataset: 're-ward',
          task: RE,
          exampleId: 1, // refused before the example is looked up
          label: RE_MENTION,
          start: 0,
          end: 7,
        }),
      ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    } finally {
      await auditor.dispose();
    }
    const after = await services.store.use((store) =>
      store.db.prepare('SELECT count(*) FROM annotations').pluck().get(),
    );
    expect(after).toBe(before);
  });
});
