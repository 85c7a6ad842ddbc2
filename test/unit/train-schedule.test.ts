import { expect, test } from 'vitest';
import { learningRate } from '../../src/train/schedule';

// Hugging Face get_cosine_schedule_with_warmup: lambda(s) = s / max(1, W) while s < W, then
// 0.5 * (1 + cos(pi * (s - W) / max(1, N - W))); W = ceil(warmup_ratio * N) as the Trainer computes it.

test('100 steps, warmup ratio 0.03: three warmup steps starting at 0, then half a cosine to 0', () => {
  const lr = (step: number) => learningRate(step, 100, 3e-4, 0.03);
  expect(lr(0)).toBe(0);
  expect(lr(1)).toBeCloseTo(1e-4, 15);
  expect(lr(2)).toBeCloseTo(2e-4, 15);
  expect(lr(3)).toBeCloseTo(3e-4, 15);
  // s = 51 is 48 / 97 of the way: 0.5 * (1 + cos(48 pi / 97)) = 0.50809653...
  expect(lr(51)).toBeCloseTo(3e-4 * 0.5080965344012508, 15);
  expect(lr(99)).toBeCloseTo(3e-4 * 0.00026221547724253336, 15);
  expect(lr(100)).toBe(0);
});

test('10 steps, warmup ratio 0.1: one warmup step; cos(4 pi / 9) = cos(80 degrees) at step 5', () => {
  expect(learningRate(0, 10, 1, 0.1)).toBe(0);
  expect(learningRate(1, 10, 1, 0.1)).toBe(1);
  expect(learningRate(5, 10, 1, 0.1)).toBeCloseTo(0.5 * (1 + 0.17364817766693033), 14);
});

test('warmup steps are rounded up: ceil(0.3 * 7) = 3', () => {
  expect(learningRate(2, 7, 0.9, 0.3)).toBeCloseTo(0.6, 15);
  expect(learningRate(3, 7, 0.9, 0.3)).toBe(0.9);
  // ceil(0.03 * 10) = 1, not round(0.3) = 0.
  expect(learningRate(0, 10, 1, 0.03)).toBe(0);
});

test('no warmup starts at the full rate; one step stays at it', () => {
  expect(learningRate(0, 50, 2e-4, 0)).toBe(2e-4);
  expect(learningRate(25, 50, 2e-4, 0)).toBeCloseTo(1e-4, 15);
  expect(learningRate(0, 1, 2e-4, 0)).toBe(2e-4);
});

test('the decay falls monotonically to 0 at the last step; past it the formula goes on as in Hugging Face', () => {
  const values = Array.from({ length: 120 }, (_, s) => learningRate(s, 100, 1, 0.1));
  expect(Math.min(...values)).toBe(0);
  for (let s = 11; s <= 100; s++) expect(values[s]).toBeLessThanOrEqual(values[s - 1]);
  expect(values[110]).toBeCloseTo(0.030153689607045786, 15); // 0.5 * (1 + cos(pi * 100 / 90))
});

test('bad arguments are refused', () => {
  expect(() => learningRate(0, 0, 1, 0)).toThrow(RangeError);
  expect(() => learningRate(-1, 10, 1, 0)).toThrow(RangeError);
  expect(() => learningRate(1.5, 10, 1, 0)).toThrow(RangeError);
  expect(() => learningRate(0, 10, 1, 1.5)).toThrow(RangeError);
  expect(() => learningRate(0, 10, Number.NaN, 0)).toThrow(RangeError);
});
