// Finite-difference gradient checks for the CPU backward twins (test/unit/*-fd.test.ts).
import { expect } from 'vitest';

/** sum(y * w): the scalar whose gradient w.r.t. y is w, so a backward pass runs with dout = w. */
export function weightedSum(y: Float32Array, w: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += y[i] * w[i];
  return sum;
}

/** Central differences of `loss` in every element of `x` (nudged in place and restored) against `analytic`. */
export function expectGradient(name: string, x: Float32Array, analytic: Float32Array, loss: () => number, { h = 1e-2, atol = 2e-3, rtol = 1e-2 } = {}): void {
  expect(analytic.length).toBe(x.length);
  const bad: string[] = [];
  let nonzero = 0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    x[i] = xi + h;
    const up = x[i] - xi; // the step actually taken in f32
    const lossUp = loss();
    x[i] = xi - h;
    const down = xi - x[i];
    const lossDown = loss();
    x[i] = xi;
    const numeric = (lossUp - lossDown) / (up + down);
    if (Math.abs(numeric) > 1e-3) nonzero++;
    if (!(Math.abs(numeric - analytic[i]) <= atol + rtol * Math.abs(numeric)) && bad.length < 5) bad.push(`[${i}] analytic ${analytic[i]} vs numeric ${numeric}`);
  }
  if (bad.length) expect.fail(`${name}: gradient mismatch: ${bad.join(', ')}`);
  // A check of all-zero gradients against all-zero differences proves nothing.
  expect(nonzero, `${name}: too few nonzero gradients`).toBeGreaterThan(x.length / 4);
}
