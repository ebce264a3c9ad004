import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { SafetensorsWeights, readSafetensorsHeader } from '../../../src-main/backbone/hf/safetensors.js';
import type { TensorToWrite } from '../../../src-main/backbone/hf/safetensors-writer.js';
import {
  floatToBf16Bits,
  writeModelSafetensors,
  writeSafetensorsFile,
} from '../../../src-main/backbone/hf/safetensors-writer.js';
import { makeTempDir } from '../../support/temp.js';
import { seededRandom } from '../../support/tiny-llama.js';

function randomTensors(): (TensorToWrite & { data: Float32Array })[] {
  const rand = seededRandom(7);
  return [
    { name: 'a.weight', shape: [3, 5], data: Float32Array.from({ length: 15 }, rand) },
    { name: 'b.weight', shape: [7], data: Float32Array.from({ length: 7 }, rand) },
    { name: 'c.weight', shape: [2, 2, 2], data: Float32Array.from({ length: 8 }, rand) },
  ];
}

/** Writes a file whose header is `header` (raw JSON text) followed by `dataBytes` zero bytes. */
function writeRaw(file: string, header: string, dataBytes: number): void {
  const h = Buffer.from(header);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  writeFileSync(file, Buffer.concat([len, h, Buffer.alloc(dataBytes)]));
}

describe('safetensors reader', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir()));
  afterEach(() => tmp.cleanup());

  it('reads back F32 tensors exactly, with absolute offsets', () => {
    const tensors = randomTensors();
    writeModelSafetensors(tmp.dir, tensors);
    const w = SafetensorsWeights.fromFolder(tmp.dir);
    for (const t of tensors) {
      expect(w.get(t.name).shape).toEqual(t.shape);
      expect(w.readFloat32(t.name)).toEqual(t.data);
    }
    // the offset points at the tensor's first float in the raw file
    const raw = readFileSync(path.join(tmp.dir, 'model.safetensors'));
    const b = w.get('b.weight');
    expect(raw.readFloatLE(b.offset)).toBe(tensors[1]!.data[0]);
  });

  it.each(['BF16', 'F16'] as const)('reads %s tensors, widened to float32 within the format precision', (dtype) => {
    const tensors = randomTensors();
    writeModelSafetensors(tmp.dir, tensors, { dtype });
    const w = SafetensorsWeights.fromFolder(tmp.dir);
    expect(w.get('a.weight').dtype).toBe(dtype);
    expect(w.get('a.weight').byteLength).toBe(15 * 2);
    const tol = dtype === 'BF16' ? 2 ** -8 : 2 ** -11;
    for (const t of tensors) {
      const back = w.readFloat32(t.name);
      t.data.forEach((v, i) => expect(Math.abs(back[i]! - v)).toBeLessThanOrEqual(Math.abs(v) * tol + 1e-7));
    }
  });

  it.each(['F32', 'BF16'] as const)(
    'reads rows of a %s tensor without the rest, and refuses rows outside it',
    (dtype) => {
      const tensors = randomTensors();
      writeModelSafetensors(tmp.dir, tensors, { dtype });
      const w = SafetensorsWeights.fromFolder(tmp.dir);
      const all = w.readFloat32('a.weight'); // (3, 5)
      expect(w.readRowsFloat32('a.weight', 1, 2)).toEqual(all.subarray(5, 15));
      expect(w.readRowsFloat32('a.weight', 2, 1)).toEqual(all.subarray(10, 15));
      expect(w.readRowsFloat32('c.weight', 1, 1)).toEqual(w.readFloat32('c.weight').subarray(4, 8)); // (2, 2, 2)
      expect(() => w.readRowsFloat32('a.weight', 2, 2)).toThrow(/rows 2\.\.4 are outside a\.weight \(3 rows\)/);
    },
  );

  // fp16 rounding is engine/numeric.ts's toFloat16Bits, tested in test/unit/engine/numeric.test.ts
  it('rounds to nearest even like torch for bf16', () => {
    expect(floatToBf16Bits(1)).toBe(0x3f80);
    expect(floatToBf16Bits(-2.5)).toBe(0xc020);
    // 1 + 2^-8 is exactly halfway between bf16 1 and 1+2^-7: ties to even (1)
    expect(floatToBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(floatToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
  });

  it('reads sharded checkpoints through model.safetensors.index.json', () => {
    const tensors = randomTensors();
    const files = writeModelSafetensors(tmp.dir, tensors, { shards: 2 });
    expect(files.map((f) => path.basename(f))).toEqual([
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ]);
    const w = SafetensorsWeights.fromFolder(tmp.dir);
    expect(w.headers).toHaveLength(2);
    expect(new Set([...w.tensors.values()].map((t) => path.basename(t.file))).size).toBe(2);
    for (const t of tensors) expect(w.readFloat32(t.name)).toEqual(t.data);
  });

  it('names a missing shard', () => {
    const files = writeModelSafetensors(tmp.dir, randomTensors(), { shards: 3 });
    rmSync(files[1]!);
    expect(() => SafetensorsWeights.fromFolder(tmp.dir)).toThrow(/model-00002-of-00003\.safetensors, which is missing/);
  });

  it('refuses a truncated file, naming the tensor that is cut', () => {
    const file = path.join(tmp.dir, 'model.safetensors');
    writeSafetensorsFile(file, randomTensors());
    truncateSync(file, readFileSync(file).byteLength - 5);
    expect(() => readSafetensorsHeader(file)).toThrow(
      expect.objectContaining({ code: 'BAD_FILE', message: expect.stringMatching(/c\.weight.*truncated/) }),
    );
  });

  it('refuses corrupt headers with BAD_FILE and a next step', () => {
    const file = path.join(tmp.dir, 'x.safetensors');
    writeFileSync(file, Buffer.from([1, 2, 3]));
    expect(() => readSafetensorsHeader(file)).toThrow(
      /shorter than the 8-byte header length.*copy the model folder again/,
    );
    writeRaw(file, '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]', 8);
    expect(() => readSafetensorsHeader(file)).toThrow(/header is not valid JSON/);
    writeRaw(file, '{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}', 8);
    expect(() => readSafetensorsHeader(file)).toThrow(/a has 8 bytes but its shape \[3\] needs 12/);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(10n ** 12n);
    writeFileSync(file, len);
    expect(() => readSafetensorsHeader(file)).toThrow(/header length .* is implausible/);
  });

  it('refuses quantized dtypes as UNSUPPORTED', () => {
    const file = path.join(tmp.dir, 'x.safetensors');
    writeRaw(file, '{"q": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}}', 4);
    expect(() => readSafetensorsHeader(file)).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED', message: expect.stringMatching(/F8_E4M3.*unquantized/) }),
    );
  });
});
