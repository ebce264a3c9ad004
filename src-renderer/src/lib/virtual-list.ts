/**
 * The arithmetic of a windowed list (components/VirtualList.svelte): where each row starts, and
 * which rows a scrolled view shows. Plain code, so that it is tested without a browser.
 */

/** Rows drawn beyond each edge of the view, so that a quick scroll shows no gap. */
export const OVERSCAN = 4;

/** Where each row starts, in pixels: `count + 1` offsets, the last being the list's whole height. */
export function rowOffsets(count: number, height: (index: number) => number): Float64Array {
  const offsets = new Float64Array(count + 1);
  for (let i = 0; i < count; i++) offsets[i + 1] = offsets[i]! + height(i);
  return offsets;
}

/** The last row starting at or above `y` (0 when none). */
function rowAt(offsets: Float64Array, y: number): number {
  let lo = 0;
  let hi = offsets.length - 2;
  if (hi < 0) return 0;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid]! <= y) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The rows [first, last) a view of `height` pixels scrolled to `top` shows, with OVERSCAN rows each side. */
export function visibleRange(offsets: Float64Array, top: number, height: number): { first: number; last: number } {
  const count = offsets.length - 1;
  if (count <= 0) return { first: 0, last: 0 };
  return {
    first: Math.max(0, rowAt(offsets, top) - OVERSCAN),
    last: Math.min(count, rowAt(offsets, top + height) + 1 + OVERSCAN),
  };
}
