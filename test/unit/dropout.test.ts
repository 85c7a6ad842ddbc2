import { describe, expect, test } from 'vitest';
import { dropoutKeep, dropoutScale, dropoutThreshold, hash32 } from '../../src/kernels/dropout';

describe('LoRA dropout mask', () => {
  test('hash32 is the lowbias32 finalizer', () => {
    // Reference values from an independent (arbitrary-precision integer) implementation.
    expect(hash32(0)).toBe(0);
    expect(hash32(1)).toBe(1753845952);
    expect(hash32(12345)).toBe(2435775735);
    expect(hash32(0xffffffff)).toBe(1734902346);
    expect(new Set(Array.from({ length: 1000 }, (_, i) => hash32(i))).size).toBe(1000);
  });

  test.each([0.05, 0.1, 0.5])('drops about p of the elements, deterministically per seed (p=%f)', (p) => {
    const threshold = dropoutThreshold(p);
    const count = 20000;
    const kept = (seed: number) => Array.from({ length: count }, (_, i) => dropoutKeep(seed, i, threshold));
    const a = kept(3);
    const dropped = a.filter((k) => !k).length / count;
    expect(Math.abs(dropped - p)).toBeLessThan(0.02);
    expect(kept(3)).toEqual(a);
    expect(kept(4)).not.toEqual(a);
    expect(dropoutScale(p)).toBeCloseTo(1 / (1 - p), 12);
  });

  test('p = 0 keeps everything and p outside [0, 1) is refused', () => {
    const threshold = dropoutThreshold(0);
    expect(threshold).toBe(0);
    for (let i = 0; i < 1000; i++) expect(dropoutKeep(9, i, threshold)).toBe(true);
    expect(() => dropoutThreshold(1)).toThrow(/outside \[0, 1\)/);
    expect(() => dropoutThreshold(-0.1)).toThrow(RangeError);
  });
});
