import { closeSync, openSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';

import { beforeEach, describe, expect, it } from 'vitest';

import { BlobStore, INLINE_BLOB_LIMIT } from '../../../src-main/store/repositories/blobs.js';
import { CHUNK_BYTES, readSealedFile, SealedFileError, SealedWriter } from '../../../src-main/store/sealed-file.js';
import { PLANTED_PHI, useFreshDatabase } from './helpers.js';

/** A payload larger than several chunks, full of a recognisable plaintext. */
function phiPayload(bytes: number): Buffer {
  const unit = Buffer.from(PLANTED_PHI + '\n');
  return Buffer.concat(Array.from({ length: Math.ceil(bytes / unit.length) }, () => unit)).subarray(0, bytes);
}

describe('encrypted blobs', () => {
  const fresh = useFreshDatabase();
  let blobs: BlobStore;
  beforeEach(() => (blobs = new BlobStore(fresh.db, `${fresh.dir}/blobs`)));

  it('keeps small blobs inside the database and large ones as sealed files, never in the clear', () => {
    const small = blobs.put('tensor', Buffer.from('tiny'));
    expect(small.inline).toBe(true);
    const payload = phiPayload(2 * CHUNK_BYTES + 12_345);
    const large = blobs.put('checkpoint', payload);
    expect(large).toMatchObject({ inline: false, bytes: payload.length });
    const file = blobs.fileFor(large.id);
    expect(readdirSync(`${fresh.dir}/blobs`)).toEqual([`${large.id}.blob`]);
    expect(readFileSync(file).includes(Buffer.from('Zebulon'))).toBe(false);
    expect(statSync(file).size).toBeLessThan(payload.length + 200);
    expect(blobs.get(large.id).equals(payload)).toBe(true);
    expect(blobs.get(small.id).toString()).toBe('tiny');
    blobs.delete(large.id);
    expect(readdirSync(`${fresh.dir}/blobs`)).toEqual([]);
    expect(() => blobs.get(large.id)).toThrow(/No blob/);
  });

  it('sweeps files left by a rolled-back put once they are old enough, never live ones', () => {
    const kept = blobs.put('checkpoint', phiPayload(INLINE_BLOB_LIMIT + 1));
    let orphan = '';
    expect(() =>
      fresh.db.transaction(() => {
        orphan = blobs.put('checkpoint', phiPayload(INLINE_BLOB_LIMIT + 1)).id;
        throw new Error('the surrounding save failed');
      })(),
    ).toThrow('the surrounding save failed');
    expect(readdirSync(`${fresh.dir}/blobs`).sort()).toEqual([`${kept.id}.blob`, `${orphan}.blob`].sort());
    expect(blobs.sweepOrphans()).toBe(0); // too recent: could be another process's put in progress
    expect(blobs.sweepOrphans(0)).toBe(1);
    expect(readdirSync(`${fresh.dir}/blobs`)).toEqual([`${kept.id}.blob`]);
    expect(blobs.get(kept.id).length).toBe(INLINE_BLOB_LIMIT + 1);
  });

  it('detects a flipped byte, a truncated file and a swapped file', () => {
    const a = blobs.put('checkpoint', phiPayload(INLINE_BLOB_LIMIT + 10));
    const b = blobs.put('checkpoint', phiPayload(INLINE_BLOB_LIMIT + 10));
    const fileA = blobs.fileFor(a.id);
    const original = readFileSync(fileA);

    const flipped = Buffer.from(original);
    flipped[100] = (flipped[100] ?? 0) ^ 1;
    writeFileSync(fileA, flipped);
    expect(() => blobs.get(a.id)).toThrow(SealedFileError);

    writeFileSync(fileA, original);
    truncateSync(fileA, original.length - 20);
    expect(() => blobs.get(a.id)).toThrow(/truncated|ends early|authenticate/);

    writeFileSync(fileA, readFileSync(blobs.fileFor(b.id))); // b's file is sealed with b's own key
    expect(() => blobs.get(a.id)).toThrow(SealedFileError);
  });

  it('refuses a stream cut at a chunk boundary (the final-chunk flag is authenticated)', () => {
    const key = Buffer.alloc(32, 1);
    const file = `${fresh.dir}/cut.sealed`;
    const fd = openSync(file, 'w');
    const writer = new SealedWriter(fd, key, 'ctx');
    writer.write(Buffer.alloc(CHUNK_BYTES * 2, 3));
    writer.end();
    closeSync(fd);
    const full = readFileSync(file);
    const firstChunkEnd = 9 + 4 + CHUNK_BYTES + 16;
    writeFileSync(file, full.subarray(0, firstChunkEnd));
    expect(() => readSealedFile(file, key, 'ctx', CHUNK_BYTES)).toThrow(
      /damaged: chunk 1 \(at byte \d+\) is cut short/,
    );
    writeFileSync(file, full);
    expect(() => readSealedFile(file, key, 'other context', CHUNK_BYTES * 2)).toThrow(SealedFileError);
    expect(readSealedFile(file, key, 'ctx', CHUNK_BYTES * 2).every((x) => x === 3)).toBe(true);
  });
});
