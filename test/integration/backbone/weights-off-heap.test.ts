/**
 * Weights are never copied into the JS heap: onnxruntime reads them from the .safetensors by
 * offset (external data). Opening a 44 MB model and building its session must grow neither V8's
 * heap nor ArrayBuffer memory by anything near the weights' size.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BackboneRunner } from '../../../src-main/backbone/generate/runner.js';
import { openBackbone } from '../../../src-main/backbone/load.js';
import { makeTempDir } from '../../support/temp.js';
import { writeTinyLlamaFolder } from '../../support/tiny-llama.js';

describe('weights stay out of the JS heap', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeAll(() => (tmp = makeTempDir()));
  afterAll(() => tmp.cleanup());

  it('opening a backbone and creating its session copies no weights into JS memory', async () => {
    const config = {
      vocabSize: 32000,
      hiddenSize: 256,
      intermediateSize: 688,
      numLayers: 4,
      numHeads: 4,
      numKvHeads: 2,
      headDim: 64,
    };
    writeTinyLlamaFolder(tmp.dir, { config });
    const backbone = openBackbone(tmp.dir);
    const weightBytes = [...backbone.tensors.values()].reduce((a, t) => a + t.byteLength, 0);
    expect(weightBytes).toBeGreaterThan(40 * 2 ** 20);
    const before = process.memoryUsage();
    const runner = await BackboneRunner.create(backbone, { threads: 1 });
    try {
      const after = process.memoryUsage();
      const grown = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
      expect(grown).toBeLessThan(weightBytes / 8);
      // and the session works: one forward step
      const out = await runner.step({ ids: [[1, 2, 3]], past: runner.emptyCache(1) });
      expect(out.logits.length).toBe(32000);
    } finally {
      await runner.release();
    }
  });
});
