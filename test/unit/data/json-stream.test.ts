import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { UserError } from '../../../src-main/common/errors.js';
import { streamJsonItems, type JsonItem } from '../../../src-main/data/json-stream.js';
import { makeTempDir } from '../../support/temp.js';

const temp = makeTempDir();
afterAll(() => temp.cleanup());

async function items(json: string, options: { arrayKey?: string } = {}): Promise<JsonItem[]> {
  const file = path.join(temp.dir, `f${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, json);
  const out: JsonItem[] = [];
  for await (const item of streamJsonItems(file, options)) out.push(item);
  return out;
}

describe('streaming JSON items', () => {
  it('yields the elements of a top-level array, with their lines', async () => {
    const got = await items('[\n {"a": "x]\\"}"},\n {"b": [1, [2]]},\n 3 ,\n "s]" , null, true\n]');
    expect(got.map((i) => i.value)).toEqual([{ a: 'x]"}' }, { b: [1, [2]] }, 3, 's]', null, true]);
    expect(got.map((i) => i.line)).toEqual([2, 3, 4, 5, 5, 5]);
  });

  it('yields the members of a top-level object as key and value', async () => {
    const got = await items('{"123": {"Q": "a, b"}, "456": "plain", "7\\"8": [1]}');
    expect(got.map((i) => [i.key, i.value])).toEqual([
      ['123', { Q: 'a, b' }],
      ['456', 'plain'],
      ['7"8', [1]],
    ]);
  });

  it('yields the elements of one list under a key (BioC JSON documents)', async () => {
    const json =
      '{"source": "x", "infons": {"documents": "no"}, "documents": [{"id": "1"}, {"id": "2", "p": [{"t": "]"}]}], "date": "d"}';
    expect((await items(json, { arrayKey: 'documents' })).map((i) => i.value)).toEqual([
      { id: '1' },
      { id: '2', p: [{ t: ']' }] },
    ]);
  });

  it('reports malformed JSON as BAD_FILE naming the file and line', async () => {
    await expect(items('[{"a": 1},\n{"a": 2,}]')).rejects.toThrow(
      /line 2, item 2, byte 11: this JSON item is not valid JSON/,
    );
    await expect(items('[{"a": 1}')).rejects.toThrow(UserError);
    await expect(items('hello')).rejects.toThrow(/expected a JSON array or object/);
  });
});
