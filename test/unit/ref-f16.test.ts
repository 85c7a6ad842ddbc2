import { describe, expect, test } from 'vitest';
import { f16BitsToF32, f32ToF16Bits, fromF16, roundToF16, toF16 } from '../../src/model/f16';

describe('f16 conversions', () => {
  // Values an f16 holds exactly: both directions.
  test.each([
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff], // largest finite
    [Infinity, 0x7c00],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
  ])('%f is 0x%s exactly', (value, bits) => {
    expect(f32ToF16Bits(value)).toBe(bits);
    expect(Object.is(f16BitsToF32(bits), value)).toBe(true);
  });

  // Values between f16s: round to nearest, ties to even.
  test.each([
    [65520, 0x7c00], // past the largest finite: infinity
    [2 ** -25, 0x0000], // half the smallest subnormal: tie, to even (zero)
    [3 * 2 ** -25, 0x0002], // 1.5 subnormal units: tie, to even (up)
    [1 + 2 ** -11, 0x3c00], // halfway above 1: tie, to even (down)
    [1 + 3 * 2 ** -11, 0x3c02], // halfway with an odd neighbour below: up
    [0.1, 0x2e66],
  ])('%f rounds to 0x%s', (value, bits) => {
    expect(f32ToF16Bits(value)).toBe(bits);
  });

  test('NaN stays NaN', () => {
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true);
  });

  test('every finite f16 survives a round trip, and rounding is idempotent', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue; // infinities and NaNs
      expect(f32ToF16Bits(f16BitsToF32(h))).toBe(h);
    }
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10 ** ((i % 9) - 4));
    const rounded = roundToF16(values);
    expect(roundToF16(rounded)).toEqual(rounded);
    expect(fromF16(toF16(values))).toEqual(rounded);
    // nearest: no f16 neighbour is closer than the rounded value
    values.forEach((v, i) => {
      const h = f32ToF16Bits(v);
      for (const n of [h - 1, h + 1]) if ((n & 0x7fff) < 0x7c00) expect(Math.abs(f16BitsToF32(n) - v)).toBeGreaterThanOrEqual(Math.abs(rounded[i] - v));
    });
  });
});
