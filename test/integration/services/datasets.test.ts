/**
 * The Import notes step's dataset requests on a real encrypted store: the source-task presets carry
 * a real path on this computer, a dataset's first examples can be previewed (an audited read), its
 * label balance drawn, and it can be renamed and deleted.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { createServices } from '../../../src-main/services/index.js';
import { SHARED_DIR } from '../../support/paths.js';
import { makeTempDir } from '../../support/temp.js';

const FAST_SCRYPT = { N: 2 ** 14, r: 8, p: 1 };
const tmp = makeTempDir('clinprompt-datasets-');
const services = createServices({
  dataDir: path.join(tmp.dir, 'home'),
  sharedDataDir: path.join(SHARED_DIR, 'data'),
  store: { scrypt: FAST_SCRYPT },
});
const h = services.handlers;
afterAll(async () => {
  await services.dispose();
  tmp.cleanup();
});

describe('dataset requests', () => {
  it('gives each public preset its path on this computer', async () => {
    const catalogue = await h['datasets.catalogue']();
    const meqsum = catalogue.find((t) => t.path === 'sum/meqsum/meqsum.csv');
    expect(meqsum).toMatchObject({
      location: path.join(SHARED_DIR, 'data', 'sum/meqsum/meqsum.csv'),
      present: true,
    });
  });

  it('previews, draws the label balance of, renames and deletes a dataset', async () => {
    await services.store.setUp({ passphrase: 'dataset requests passphrase' });
    const file = path.join(tmp.dir, 'nli.csv');
    const rows = ['split,premise,hypothesis,label'];
    for (let i = 0; i < 6; i++) {
      rows.push(
        `train,Patient ${i} has a fever.,The patient is febrile.,${i % 3 === 0 ? 'contradiction' : 'entailment'}`,
      );
    }
    writeFileSync(file, rows.join('\n') + '\n');
    await h['datasets.import']({ format: 'csv', path: file, task: 'nli', name: 'fever' });

    const { examples } = await h['datasets.preview']({ name: 'fever', limit: 2 });
    expect(examples).toHaveLength(2);
    expect(examples[0]).toMatchObject({ split: 'train', labels: ['contradiction'] });
    expect(examples[0]?.prompt).toContain('Patient 0 has a fever.');
    expect(examples[0]?.target).toMatch(/contradiction/);

    const { svg } = await h['charts.labelBalance']({ name: 'fever' });
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('entailment');
    expect(svg).toContain('contradiction');

    await h['datasets.rename']({ name: 'fever', newName: 'fever-nli' });
    expect((await h['datasets.list']()).map((d) => d.name)).toEqual(['fever-nli']);
    await expect(h['charts.labelBalance']({ name: 'fever' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await h['datasets.delete']({ name: 'fever-nli' })).toEqual({ name: 'fever-nli', examples: 6 });
    expect(await h['datasets.list']()).toEqual([]);
  });
});
