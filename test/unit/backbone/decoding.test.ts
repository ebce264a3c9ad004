import { describe, expect, it } from 'vitest';

import { argmax, sampleToken } from '../../../src-main/backbone/generate/decoding.js';
import { seededRandom } from '../../../src-main/common/random.js';
import { continuationIds } from '../../../src-main/backbone/generate/scoring.js';

describe('token choice', () => {
  const logits = Float32Array.from([0.1, 2.0, -1, 1.9, 0.5]);

  it('greedy picks the highest logit, the first on ties', () => {
    expect(argmax(logits)).toBe(1);
    expect(argmax(Float32Array.from([3, 3, 1]))).toBe(0);
    // a row of a (B, K, V) buffer
    expect(argmax(Float32Array.from([9, 0, 0, 0, 5, 1]), 3, 3)).toBe(1);
  });

  it('a tiny top-p keeps only the most likely token; temperature sharpens or flattens', () => {
    const u = seededRandom(1);
    for (let i = 0; i < 50; i++) expect(sampleToken(logits, 1, 1e-6, u)).toBe(1);
    const counts = (t: number) => {
      const c = new Array<number>(5).fill(0);
      const rng = seededRandom(3);
      for (let i = 0; i < 4000; i++) c[sampleToken(logits, t, 1, rng)]!++;
      return c;
    };
    const hot = counts(5);
    const cold = counts(0.2);
    expect(hot[2]).toBeGreaterThan(300); // flattened: the least likely token still appears
    expect(cold[2]).toBeLessThan(5);
    // at temperature 1 the frequencies follow softmax: p(1)/p(3) = e^0.1
    const one = counts(1);
    expect(one[1]! / one[3]!).toBeGreaterThan(0.9);
    expect(one[1]! / one[3]!).toBeLessThan(1.35);
  });
});

describe('continuation ids', () => {
  // a toy tokenizer that merges "ab" into one token, to show the shared prefix shrinking
  const encode = (text: string) => {
    const out = [1];
    for (let i = 0; i < text.length; i++) {
      if (text[i] === 'a' && text[i + 1] === 'b') {
        out.push(1000);
        i++;
      } else out.push(text.charCodeAt(i));
    }
    return out;
  };

  it('splits prompt+candidate after the longest prefix every candidate shares with the prompt', () => {
    expect(continuationIds(encode, 'xy', [' c', 'd'])).toEqual({
      promptIds: [1, 120, 121],
      candidateIds: [[32, 99], [100]],
    });
    // "a" at the end of the prompt merges with a candidate starting with "b": rescored from there
    expect(continuationIds(encode, 'xa', ['b', 'c'])).toEqual({
      promptIds: [1, 120],
      candidateIds: [[1000], [97, 99]],
    });
  });
});
