import { describe, expect, it } from 'vitest';

import type { UserError } from '../../../src-main/common/errors.js';
import { AnnotationsRepository } from '../../../src-main/store/repositories/annotations.js';
import { BlobStore } from '../../../src-main/store/repositories/blobs.js';
import { NotesRepository } from '../../../src-main/store/repositories/notes.js';
import { PromptsRepository } from '../../../src-main/store/repositories/prompts.js';
import { RunsRepository } from '../../../src-main/store/repositories/runs.js';
import { useFreshDatabase } from './helpers.js';

const code = (c: string) => expect.objectContaining({ code: c }) as UserError;

describe('repositories', () => {
  const fresh = useFreshDatabase();

  it('notes: imports a collection all-or-nothing and summarises collections', () => {
    const notes = new NotesRepository(fresh.db);
    const ids = notes.importNotes(
      'ward-7',
      [
        { externalId: 'a', text: 'first' },
        { externalId: 'b', text: 'second', meta: { dept: 'cardio' } },
      ],
      'ana',
    );
    expect(notes.get(ids[1] ?? 0)).toMatchObject({
      collection: 'ward-7',
      externalId: 'b',
      text: 'second',
      meta: { dept: 'cardio' },
      importedBy: 'ana',
    });
    expect(() =>
      notes.importNotes(
        'ward-7',
        [
          { externalId: 'c', text: 'third' },
          { externalId: 'a', text: 'again' },
        ],
        'ana',
      ),
    ).toThrow(/Note 2 \(id a\) is already in collection "ward-7"/);
    expect(() => notes.importNotes('ward-7', [{ text: '' }], 'ana')).toThrow(/Note 1 has no text/);
    expect(notes.list('ward-7').map((n) => n.externalId)).toEqual(['a', 'b']);
    expect(notes.list('ward-7', { limit: 1, offset: 1 }).map((n) => n.externalId)).toEqual(['b']);
    expect(notes.collections()).toEqual([{ collection: 'ward-7', notes: 2, annotations: 0 }]);
    expect(notes.deleteCollection('ward-7')).toBe(2);
  });

  it('annotations: spans must fit the note; deleting the note removes its labels', () => {
    const notes = new NotesRepository(fresh.db);
    const annotations = new AnnotationsRepository(fresh.db);
    const [noteId = 0] = notes.importNotes('c', [{ text: 'chest pain since monday' }], 'ana');
    const span = annotations.add({ noteId, taskType: 'ner', label: 'PROBLEM', start: 0, end: 10 }, 'ana');
    annotations.add({ noteId, taskType: 'nli', label: 'entailment', value: { hypothesis: 'h' } }, 'ana');
    expect(span).toMatchObject({ noteId, label: 'PROBLEM', start: 0, end: 10, createdBy: 'ana' });
    expect(annotations.forNote(noteId).map((a) => a.label)).toEqual(['entailment', 'PROBLEM']);
    expect(() => annotations.add({ noteId, taskType: 'ner', label: 'X', start: 5, end: 99 }, 'ana')).toThrow(
      /does not fit note/,
    );
    expect(() => annotations.add({ noteId, taskType: 'ner', label: 'X', start: 5 }, 'ana')).toThrow(/does not fit/);
    expect(() => annotations.add({ noteId: 999, taskType: 'ner', label: 'X' }, 'ana')).toThrow(code('NOT_FOUND'));
    expect(notes.collections()[0]?.annotations).toBe(2);
    notes.deleteCollection('c');
    expect(fresh.db.prepare('SELECT count(*) FROM annotations').pluck().get()).toBe(0);
  });

  it('runs: status, metrics per step (re-reportable), artifacts', () => {
    const runs = new RunsRepository(fresh.db);
    const blobs = new BlobStore(fresh.db, `${fresh.dir}/blobs`);
    const run = runs.start('train', { method: 'mpt', lr: 0.3 }, [1, 2], 'ana');
    expect(run).toMatchObject({ status: 'running', config: { lr: 0.3 }, datasetIds: [1, 2], finishedAt: null });
    runs.recordMetrics(run.id, 1, { loss: 2.5 });
    runs.recordMetrics(run.id, 2, { loss: 2.0, accuracy: 0.4 });
    runs.recordMetrics(run.id, 2, { loss: 1.9 }); // a resumed run reports step 2 again
    expect(runs.metrics(run.id, 'loss')).toEqual([
      { step: 1, name: 'loss', value: 2.5 },
      { step: 2, name: 'loss', value: 1.9 },
    ]);
    expect(() => runs.recordMetrics(run.id, 3, { loss: Number.NaN })).toThrow(/not a finite number/);
    const blob = blobs.put('checkpoint', Buffer.from('weights'));
    runs.attachArtifact(run.id, 'checkpoint', blob.id);
    expect(runs.artifacts(run.id)).toEqual([{ name: 'checkpoint', blobId: blob.id }]);
    expect(runs.finish(run.id, 'failed', 'OUT_OF_MEMORY')).toMatchObject({
      status: 'failed',
      errorCode: 'OUT_OF_MEMORY',
    });
    expect(runs.list().map((r) => r.id)).toEqual([run.id]);
  });

  it('prompts: versions per name with encrypted weights, and pack export records', () => {
    const prompts = new PromptsRepository(fresh.db, new BlobStore(fresh.db, `${fresh.dir}/blobs`));
    const spec = { name: 'ner-mpt', method: 'mpt', backboneFingerprint: 'fp1', taskTypes: ['ner'] };
    const v1 = prompts.save(spec, Buffer.from([1, 2, 3]));
    const v2 = prompts.save({ ...spec, meta: { steps: 100 } }, Buffer.alloc(300_000, 9)); // stored as a sealed file
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect(prompts.list().map((p) => `${p.name}@${p.version}`)).toEqual(['ner-mpt@2']);
    expect(prompts.list('ner-mpt')).toHaveLength(2);
    expect(prompts.weights(v2.id).equals(Buffer.alloc(300_000, 9))).toBe(true);
    expect(prompts.recordExport(v2.id, 'ner-mpt.cppack', 'ab12', 'ana')).toMatchObject({
      promptId: v2.id,
      fileName: 'ner-mpt.cppack',
    });
    expect(() => prompts.recordExport(999, 'x', 'y', 'ana')).toThrow(code('NOT_FOUND'));
  });
});
