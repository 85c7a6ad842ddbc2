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

/**
 * For the GPU trainers: central differences of an async `loss` in the largest-gradient entry of each chosen tensor
 * (`tensors` lists a copy's tensors in the order of `grads`), against that entry of `grads`.
 */
export async function expectLargestEntryGradients<X>(
  value: X,
  tensors: (x: X) => Float32Array[],
  grads: Float32Array[],
  which: number[],
  loss: (x: X) => Promise<number>,
  eps = 1e-2,
): Promise<void> {
  for (const t of which) {
    const grad = grads[t];
    let k = 0;
    for (let j = 1; j < grad.length; j++) if (Math.abs(grad[j]) > Math.abs(grad[k])) k = j;
    const nudged = (delta: number): X => {
      const copy = structuredClone(value);
      tensors(copy)[t][k] += delta;
      return copy;
    };
    const numeric = ((await loss(nudged(eps))) - (await loss(nudged(-eps)))) / (2 * eps);
    expect(grad[k], `tensor ${t} has no gradient`).not.toBe(0);
    expect(Math.abs(numeric - grad[k]), `tensor ${t}[${k}]: ${grad[k]} vs ${numeric}`).toBeLessThan(0.02 * Math.abs(numeric) + 2e-3);
  }
}
