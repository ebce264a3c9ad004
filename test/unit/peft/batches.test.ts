import { describe, expect, it } from 'vitest';

import { collate, epochBatches, tokenizeExamples } from '../../../src-main/peft/batches.js';

/** One token per character, BOS = 1; enough to check positions and masks exactly. */
const chars = { encode: (text: string) => [1, ...[...text].map((c) => c.charCodeAt(0))] };
const EOS = 2;

describe('training batches', () => {
  it('targets are the continuation tokens plus EOS; only they carry loss; padding is masked', () => {
    const { examples } = tokenizeExamples(
      chars,
      EOS,
      [
        { prompt: 'ab:', target: ' y' },
        { prompt: 'a:', target: ' no' },
      ],
      64,
    );
    expect(examples[0]).toEqual({ ids: [1, 97, 98, 58, 32, 121, EOS], targetStart: 4 });
    const batch = collate(examples, [0, 1], 0);
    expect(batch.tokens).toBe(7);
    expect([...(batch.feeds['attention_mask']!.data as BigInt64Array)].map(Number)).toEqual([
      1, 1, 1, 1, 1, 1, 1, /**/ 1, 1, 1, 1, 1, 1, 1,
    ]);
    const row1 = examples[1]!; // [1, a, :, ' ', n, o, EOS]: 7 tokens, no padding
    expect(row1.ids.length).toBe(7);
    // position k predicts token k + 1: loss at positions targetStart - 1 .. n - 2
    expect([...(batch.feeds['loss_mask']!.data as Float32Array)].slice(0, 7)).toEqual([0, 0, 0, 1, 1, 1, 0]);
    expect([...(batch.feeds['targets']!.data as BigInt64Array)].slice(0, 7).map(Number)).toEqual([
      -100,
      -100,
      -100,
      32,
      121,
      EOS,
      -100,
    ]);
    const short = collate(
      tokenizeExamples(chars, EOS, [{ prompt: 'a', target: 'b' }], 64).examples.concat(examples),
      [0, 1],
      0,
    );
    expect([...(short.feeds['attention_mask']!.data as BigInt64Array)].slice(0, 7).map(Number)).toEqual([
      1, 1, 1, 1, 0, 0, 0,
    ]);
    expect([...(short.feeds['loss_mask']!.data as Float32Array)].slice(0, 7)).toEqual([0, 1, 1, 0, 0, 0, 0]);
  });

  it('cuts the middle of a long prompt, keeping its start, its answer cue and the target', () => {
    const prompt = 'x'.repeat(200) + 'Answer:';
    const { examples, truncated } = tokenizeExamples(chars, EOS, [{ prompt, target: ' yes' }], 64);
    expect(truncated).toBe(1);
    const ids = examples[0]!.ids;
    expect(ids.length).toBe(64);
    expect(ids.slice(0, 2)).toEqual([1, 120]);
    const text = String.fromCharCode(...ids.slice(examples[0]!.targetStart - 7, examples[0]!.targetStart));
    expect(text).toBe('Answer:');
    expect(ids.slice(-5)).toEqual([32, 121, 101, 115, EOS]);
  });

  it('epoch order is a function of (seed, epoch) and covers every example once', () => {
    const lengths = Array.from({ length: 37 }, (_, i) => 5 + (i % 7));
    const a = epochBatches(lengths, 8, 3, 0);
    expect(epochBatches(lengths, 8, 3, 0)).toEqual(a);
    expect(epochBatches(lengths, 8, 3, 1)).not.toEqual(a);
    expect(a.flat().sort((x, y) => x - y)).toEqual(lengths.map((_, i) => i));
    const grouped = epochBatches(lengths, 8, 3, 0, true);
    expect(grouped.flat().sort((x, y) => x - y)).toEqual(lengths.map((_, i) => i));
    // grouped batches are sorted by length inside
    for (const b of grouped)
      expect(b.map((i) => lengths[i]!)).toEqual([...b.map((i) => lengths[i]!)].sort((x, y) => y - x));
  });
});
