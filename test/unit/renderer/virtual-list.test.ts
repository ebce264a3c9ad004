/** The windowed list's arithmetic (src-renderer/src/lib/virtual-list.ts): row offsets and the rows a view shows. */
import { describe, expect, it } from 'vitest';

import { OVERSCAN, rowOffsets, visibleRange } from '../../../src-renderer/src/lib/virtual-list.js';

describe('virtual list', () => {
  it('adds up measured and estimated heights into row offsets', () => {
    const measured = new Map([[1, 50]]);
    expect([...rowOffsets(3, (i) => measured.get(i) ?? 100)]).toEqual([0, 100, 150, 250]);
    expect([...rowOffsets(0, () => 100)]).toEqual([0]);
  });

  it('shows only the rows in view and a few beyond, from the top to the last of 10,000', () => {
    const offsets = rowOffsets(10_000, () => 100);
    expect(visibleRange(offsets, 0, 600)).toEqual({ first: 0, last: 7 + OVERSCAN });
    // scrolled half way: rows 5000..5005 are in view
    expect(visibleRange(offsets, 500_000, 600)).toEqual({ first: 5000 - OVERSCAN, last: 5007 + OVERSCAN });
    // at the end the last row is shown, and never a row past it
    const end = visibleRange(offsets, 1_000_000 - 600, 600);
    expect(end.last).toBe(10_000);
    expect(end.last - end.first).toBeLessThan(20);
    expect(
      visibleRange(
        rowOffsets(0, () => 100),
        0,
        600,
      ),
    ).toEqual({ first: 0, last: 0 });
  });

  it('finds rows of different heights', () => {
    const heights = [10, 300, 10, 10];
    const offsets = rowOffsets(heights.length, (i) => heights[i]!);
    // a view inside the tall row starts at it
    expect(visibleRange(offsets, 100, 50).first).toBe(0);
    expect(visibleRange(offsets, 315, 1)).toEqual({ first: 0, last: 4 });
  });
});
