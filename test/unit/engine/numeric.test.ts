/** float16 bit conversion (IEEE 754 binary16, round half to even) and the dynamic loss scaler. */
import { describe, expect, it } from 'vitest';
import { LossScaler, allFinite } from '../../../src-main/engine/loss-scale.js';
import { fromFloat16Bits, toFloat16Bits, typedArray } from '../../../src-main/engine/numeric.js';

describe('float16 bits', () => {
  it('encodes known values exactly', () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65504)).toBe(0x7bff); // largest finite
    expect(toFloat16Bits(1e6)).toBe(0x7c00); // overflow to +inf
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toFloat16Bits(2 ** -26)).toBe(0x0000); // underflow
    expect(toFloat16Bits(Infinity)).toBe(0x7c00);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN)))).toBe(true);
    expect(toFloat16Bits(-0)).toBe(0x8000);
  });

  it('rounds to nearest, ties to even', () => {
    // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties to the even mantissa (1).
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3 * 2^-11 lies halfway between 1 + 2^-10 and 1 + 2^-9: ties to even (1 + 2^-9).
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toFloat16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
  });

  it('round-trips every finite float16 value', () => {
    const wrong: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00) continue; // inf / nan
      if (toFloat16Bits(fromFloat16Bits(bits)) !== bits) wrong.push(bits);
    }
    expect(wrong).toEqual([]);
    expect(Array.from(typedArray('float16', [0.5, -3]) as Uint16Array)).toEqual([0x3800, 0xc200]);
  });
});

describe('LossScaler', () => {
  it('halves on overflow and skips the step, doubles after the growth interval', () => {
    const s = new LossScaler(1024, 3);
    expect(s.update(false)).toBe(false);
    expect(s.scale).toBe(512);
    expect([s.update(true), s.update(true)]).toEqual([true, true]);
    expect(s.scale).toBe(512);
    s.update(true);
    expect(s.scale).toBe(1024);
    expect(allFinite([Float32Array.of(1, 2), [3]])).toBe(true);
    expect(allFinite([Float32Array.of(1, Infinity)])).toBe(false);
    expect(allFinite([[NaN]])).toBe(false);
  });

  it('never goes below its minimum scale', () => {
    const s = new LossScaler(2, 10, 1);
    s.update(false);
    s.update(false);
    expect(s.scale).toBe(1);
  });
});
