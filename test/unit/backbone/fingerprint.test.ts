import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { backboneFingerprint } from '../../../src-main/backbone/fingerprint.js';
import { openBackbone } from '../../../src-main/backbone/load.js';
import { makeTempDir } from '../../support/temp.js';
import { STORIES_DIR } from '../../support/tiny-llama.js';

describe('backbone fingerprint', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeAll(() => (tmp = makeTempDir()));
  afterAll(() => tmp.cleanup());

  it('is pinned for stories260K: prompt packs carry it, so it must not drift between versions', () => {
    // a change here invalidates every exported pack: bump FORMAT in fingerprint.ts deliberately instead
    const b = openBackbone(STORIES_DIR, { cacheDir: tmp.dir });
    expect(b.fingerprint()).toBe('sha256:184159f498ad5821ca5c46a963e2f500302819102596c43a949c8248cc520da0');
  });

  it('changes with any config field that changes the computed function', () => {
    const b = openBackbone(STORIES_DIR, { cacheDir: tmp.dir });
    const base = backboneFingerprint(b.config, b.tensors.values());
    expect(backboneFingerprint({ ...b.config, ropeTheta: 500000 }, b.tensors.values())).not.toBe(base);
    expect(backboneFingerprint({ ...b.config, rmsNormEps: 1e-6 }, b.tensors.values())).not.toBe(base);
    // generation settings are not part of the model
    expect(backboneFingerprint({ ...b.config, eosTokenIds: [2] }, b.tensors.values())).toBe(base);
  });
});
