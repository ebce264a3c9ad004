/**
 * The role table enforced where the actions happen: importing notes (notes.import) versus labelled
 * datasets (datasets.import), deleting a dataset (datasets.delete), training (models.train) and
 * running an adapted prompt (prompts.run), through the CLI and through the IPC handlers. A refused
 * person gets a message naming the action, their role and the permission, and the store is unchanged.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NOTES_DEFAULT_TASK } from '../../../src-main/data/importers/notes.js';
import { createServices } from '../../../src-main/services/index.js';
import type { DatasetSummary } from '../../../src-main/store/repositories/datasets.js';
import { runCliCaptured } from '../../support/cli.js';
import { makeTempDir } from '../../support/temp.js';

const ADMIN = 'permissions admin passphrase';
const PASSPHRASES = { clin: 'clinician own passphrase', ann: 'annotator own passphrase' } as const;

describe('permissions enforced where the actions happen', () => {
  const tmp = makeTempDir('clinprompt-permissions-');
  const home = path.join(tmp.dir, 'home');
  const notes = path.join(tmp.dir, 'ward-notes');
  const as = (user: 'admin' | keyof typeof PASSPHRASES) => ({
    CLINPROMPT_HOME: home,
    CLINPROMPT_USER: user,
    CLINPROMPT_PASSPHRASE: user === 'admin' ? ADMIN : PASSPHRASES[user],
  });
  const datasets = async () =>
    JSON.parse((await runCliCaptured(['datasets', 'list', '--json'], as('admin'))).stdout) as DatasetSummary[];
  const auditCount = async () =>
    (
      JSON.parse(
        (await runCliCaptured(['audit', 'list', '--limit', '1000', '--json'], as('admin'))).stdout,
      ) as unknown[]
    ).length;

  beforeAll(async () => {
    mkdirSync(notes);
    writeFileSync(path.join(notes, 'a.txt'), 'Patient seen for follow-up of asthma.');
    writeFileSync(path.join(notes, 'b.txt'), 'Discharged home on oral antibiotics.');
    expect((await runCliCaptured(['store', 'init'], as('admin'))).code).toBe(0);
    for (const [user, role] of [
      ['clin', 'clinician'],
      ['ann', 'annotator'],
    ] as const) {
      const added = await runCliCaptured(['users', 'add', user, '--role', role], {
        ...as('admin'),
        CLINPROMPT_NEW_PASSPHRASE: PASSPHRASES[user],
      });
      expect(added.stderr).toBe('');
    }
  });
  afterAll(() => tmp.cleanup());

  it('CLI: notes need notes.import, labelled data datasets.import, deleting datasets.delete', async () => {
    const refusedNotes = await runCliCaptured(['import', 'notes', notes, '--name', 'ward'], as('ann'));
    expect(refusedNotes.code).toBe(1);
    expect(refusedNotes.stderr).toContain(
      'User "ann" (role annotator) may not import notes (needs notes.import). Ask an informatics-admin to change your role.',
    );
    expect(await datasets()).toEqual([]);

    const imported = await runCliCaptured(['import', 'notes', notes, '--name', 'ward', '--json'], as('clin'));
    expect(imported.stderr).toBe('');
    expect(await datasets()).toMatchObject([{ name: 'ward', counts: { total: 2 } }]);

    const labelled = path.join(tmp.dir, 'labelled.jsonl');
    writeFileSync(labelled, JSON.stringify({ premise: 'a', hypothesis: 'b', label: 'entailment' }) + '\n');
    const refusedDataset = await runCliCaptured(
      ['import', 'jsonl', labelled, '--task', 'nli', '--name', 'labelled'],
      as('clin'),
    );
    expect(refusedDataset.code).toBe(1);
    expect(refusedDataset.stderr).toContain(
      'User "clin" (role clinician) may not import a jsonl dataset (needs datasets.import)',
    );

    const before = await auditCount();
    const refusedDelete = await runCliCaptured(['datasets', 'delete', 'ward'], as('clin'));
    expect(refusedDelete.code).toBe(1);
    expect(refusedDelete.stderr).toContain(
      'User "clin" (role clinician) may not delete a dataset (needs datasets.delete)',
    );
    expect(await datasets()).toMatchObject([{ name: 'ward', counts: { total: 2 } }]);
    // the refusal itself is audited, and nothing else
    const audit = JSON.parse(
      (await runCliCaptured(['audit', 'list', '--limit', '3', '--json'], as('admin'))).stdout,
    ) as { action: string; username: string; details: Record<string, unknown> }[];
    expect(audit.find((e) => e.username === 'clin')).toMatchObject({
      action: 'permission.denied',
      details: { attempted: 'delete a dataset', permission: 'datasets.delete' },
    });
    expect(await auditCount()).toBe(before + 1); // the refusal only
  });

  it('IPC: the same checks, and training and running a prompt refused before any note is read', async () => {
    const open = async (user: keyof typeof PASSPHRASES) => {
      const services = createServices({ dataDir: home, store: { username: user } });
      await services.store.unlock({ passphrase: PASSPHRASES[user] });
      return services;
    };
    const annotator = await open('ann');
    try {
      const h = annotator.handlers;
      await expect(
        h['datasets.import']({ format: 'notes', path: notes, task: NOTES_DEFAULT_TASK, name: 'ward-2' }),
      ).rejects.toThrow(
        expect.objectContaining({
          code: 'PERMISSION_DENIED',
          message: expect.stringContaining('"ann" (role annotator) may not import notes') as string,
        }) as Error,
      );
      await expect(h['adapt.evaluate']({ dataset: 'ward', run: path.join(tmp.dir, 'run') })).rejects.toThrow(
        /\(role annotator\) may not run an adapted prompt over a dataset \(needs prompts\.run\)/,
      );
      await expect(h['adapt.start']({ dataset: 'ward', method: 'pt', train: {} })).rejects.toThrow(
        /\(role annotator\) may not train a prompt \(needs models\.train\)/,
      );
    } finally {
      await annotator.dispose();
    }
    const clinician = await open('clin');
    try {
      await expect(clinician.handlers['datasets.delete']({ name: 'ward' })).rejects.toThrow(
        /"clin" \(role clinician\) may not delete a dataset \(needs datasets\.delete\)/,
      );
    } finally {
      await clinician.dispose();
    }
    expect((await datasets()).map((d) => d.name)).toEqual(['ward']);
    const reads = JSON.parse(
      (await runCliCaptured(['audit', 'list', '--limit', '1000', '--json'], as('admin'))).stdout,
    ) as { action: string; username: string }[];
    expect(reads.filter((e) => e.username === 'ann' && e.action.startsWith('datasets.'))).toEqual([]);
  });
});
