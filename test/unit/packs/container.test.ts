import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';

import { readContainer, writeContainer } from '../../../src-main/packs/container.js';

const zip = (members: Record<string, Uint8Array>, level: 0 | 9 = 0) =>
  zipSync(Object.fromEntries(Object.entries(members).map(([k, v]) => [k, [v, { level }]])));

describe('pack container', () => {
  it('round-trips members, stored uncompressed', () => {
    const members = new Map([
      ['manifest.json', Buffer.from('{"a":1}')],
      ['adapter_model.safetensors', Buffer.from([1, 2, 3, 4])],
    ]);
    const bytes = writeContainer(members);
    expect(bytes.includes(Buffer.from('{"a":1}'))).toBe(true); // stored, readable with any zip tool
    expect(readContainer(bytes, 'p.cpack')).toEqual(members);
    expect(writeContainer(members)).toEqual(bytes); // fixed timestamps: same members, same bytes
  });

  it.each([
    ['path-traversing names', zip({ '../evil.json': new Uint8Array(1) }), /is a path/],
    ['folders', zip({ 'a/b.json': new Uint8Array(1) }), /is a path/],
    ['absolute names', zip({ '/etc/passwd': new Uint8Array(1) }), /is a path/],
    [
      'too many members',
      zip(Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`m${i}`, new Uint8Array(1)]))),
      /more than 16 members/,
    ],
    ['zip bombs', zip({ 'big.bin': new Uint8Array(8 << 20) }, 9), /zip bomb/],
    ['an empty zip', zip({}), /no members/],
    ['something else', Buffer.from('not a zip at all, just text'), /damaged or truncated/],
    ['truncation', zip({ 'a.json': new Uint8Array(100).fill(7) }).subarray(0, 60), /damaged or truncated/],
  ])('refuses %s', (_what, bytes, message) => {
    expect(() => readContainer(bytes, 'p.cpack')).toThrow(message);
    expect(() => readContainer(bytes, 'p.cpack')).toThrow(/p\.cpack is not a valid prompt pack/);
  });

  it('refuses a member whose declared size is a lie', () => {
    const bytes = Buffer.from(zip({ 'a.json': Buffer.from('0123456789') }));
    // the central directory's uncompressed size (offset 24 of its entry) claims 5 bytes
    const cd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bytes.writeUInt32LE(5, cd + 24);
    expect(() => readContainer(bytes, 'p.cpack')).toThrow(/two different sizes|damaged/);
  });
});
