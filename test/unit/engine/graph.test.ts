/**
 * The builder's structural promises: gradients only for what is trained, dead branches pruned,
 * weights multiplied without Transpose nodes, external data read by offset from a .safetensors
 * file, and errors that name the op.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gradients } from '../../../src-main/engine/autodiff.js';
import { readSafetensorsIndex, writeSafetensors } from '../../../src-main/engine/external-data.js';
import type { OpDef } from '../../../src-main/engine/graph.js';
import { Graph } from '../../../src-main/engine/graph.js';
import * as op from '../../../src-main/engine/ops.js';
import { serialize } from '../../../src-main/engine/serialize.js';
import { createSession, ort } from '../../../src-main/engine/session.js';

const dir = mkdtempSync(join(tmpdir(), 'engine-graph-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('graph builder', () => {
  it('tracks dtypes and symbolic shapes through ops', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 'tokens', 8]);
    const w = g.weight('w', 'float32', [16, 8], new Float32Array(128));
    const y = op.matmul(x, w, { transB: true });
    expect(y.shape).toEqual(['batch', 'tokens', 16]);
    const h = op.reshape(y, ['batch', 'tokens', 4, 4]);
    expect(h.shape).toEqual(['batch', 'tokens', 4, 4]);
    expect(op.transpose(h, [0, 2, 1, 3]).shape).toEqual(['batch', 4, 'tokens', 4]);
    expect(op.concat([g.input('p', 'float32', ['batch', 3, 8]), x], 1).shape).toEqual(['batch', '3+tokens', 8]);
    expect(op.reduceSum(y, [-1], true).shape).toEqual(['batch', 'tokens', 1]);
    expect(() => op.add(y, g.input('z', 'float32', [5]))).toThrow(/Add: cannot broadcast/);
  });

  it('computes no weight gradient when only the prompt trains, and prunes dead branches', () => {
    const g = new Graph();
    const prompt = g.input('prompt', 'float32', [4, 8]);
    const w = g.weight('w', 'float32', [16, 8], new Float32Array(128));
    const y = op.matmul(prompt, w, { transB: true });
    op.exp(op.sigmoid(y)); // a dead branch
    const loss = op.reduceSum(op.mul(y, y), [0, 1]);
    const [gp] = gradients(loss, [prompt]);
    const model = serialize(g, [
      { name: 'loss', tensor: loss },
      { name: 'grad', tensor: gp! },
    ]);
    // Forward: one FusedMatMul (transB); backward: dPrompt = G @ W, one plain MatMul. No dW product.
    expect(model.stats.ops['FusedMatMul']).toBe(1);
    expect(model.stats.ops['MatMul']).toBe(1);
    expect(model.stats.ops['Transpose']).toBeUndefined();
    expect(model.stats.ops['Sigmoid']).toBeUndefined();
    expect(model.stats.ops['Exp']).toBeUndefined();
  });

  it('names the op that has no gradient rule', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [3]);
    const noRule: OpDef = {
      name: 'Mystery',
      infer: ([t]) => [{ dtype: t!.dtype, shape: t!.shape }],
      emit: (e, _n, i, o) => e.node('Identity', i, o),
    };
    const y = g.apply(noRule, [x], {})[0]!;
    expect(() => gradients(op.reduceSum(y, [0]), [x])).toThrow(/No gradient rule for op Mystery/);
  });

  it('reads weights as external data by offset into a .safetensors file', async () => {
    const path = join(dir, 'weights.safetensors');
    const w = Float32Array.from({ length: 12 }, (_, i) => i - 5);
    writeSafetensors(path, {
      other: { dtype: 'float32', shape: [7], data: new Float32Array(7).fill(9) },
      w: { dtype: 'float32', shape: [3, 4], data: w },
    });
    const entry = readSafetensorsIndex(path).get('w')!;
    expect(entry.location.offset).toBeGreaterThan(8 + 7 * 4);
    const g = new Graph();
    const x = g.input('x', 'float32', ['n', 4]);
    const y = op.matmul(x, g.weight('w', 'float32', entry.shape, entry.location), { transB: true });
    const model = serialize(g, [{ name: 'y', tensor: y }]);
    expect(model.externalDataDir).toBe(dir);
    expect(model.bytes.length).toBeLessThan(1000); // the weight is not inside the model
    const session = await createSession(model);
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 0, 0, 2]), [1, 4]) });
    expect(Array.from(out['y']!.data as Float32Array)).toEqual([-5 + 2 * -2, -1 + 2 * 2, 3 + 2 * 6]);
    await session.release();
  });

  it('refuses a damaged .safetensors file with a message that says what to do', () => {
    const path = join(dir, 'broken.safetensors');
    const bytes = Buffer.alloc(20);
    bytes.writeBigUInt64LE(12n, 0);
    bytes.write('{"a": nope}', 8);
    writeFileSync(path, bytes);
    expect(() => readSafetensorsIndex(path)).toThrow(
      /broken.safetensors is not a valid .safetensors file: its header is not valid JSON. .*copy the model folder again/,
    );
  });
});
