// Shared test helpers: a seeded RNG, random tensors and an all-close check that reports where it fails.
import { expect } from 'vitest';
import { mulberry32 } from '../src/data/split';

export type Rng = () => number;

/** A seeded uniform [0, 1) generator (mulberry32, as the app's seeded splits use). */
export const seeded: (seed: number) => Rng = mulberry32;

/** n standard-normal samples (Box-Muller), times `scale`. */
export function randn(rng: Rng, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(rng(), 1e-12);
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng()) * scale;
  }
  return out;
}

export function randInt(rng: Rng, n: number, max: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rng() * max);
  return out;
}

/** Fails with the max absolute difference and the first mismatching indices. */
export function expectAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-5, rtol = 1e-4 } = {},
): void {
  expect(actual.length).toBe(expected.length);
  let maxDiff = 0;
  const bad: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    maxDiff = Math.max(maxDiff, Number.isNaN(diff) ? Infinity : diff);
    if (!(diff <= atol + rtol * Math.abs(expected[i])) && bad.length < 5) bad.push(`[${i}] ${actual[i]} vs ${expected[i]}`);
  }
  if (bad.length) expect.fail(`not all close (max diff ${maxDiff}): ${bad.join(', ')}`);
}
