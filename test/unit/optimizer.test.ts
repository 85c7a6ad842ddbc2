// The AdamW and grad-norm twins against AdamW written out as in PyTorch's documentation (f64, moments
// bias-corrected explicitly) after torch.nn.utils.clip_grad_norm_.
import { describe, expect, test } from 'vitest';
import { adamwStep, globalNormSquared } from '../../src/ref/adamw';
import { randn, seeded } from '../util';

interface Hyper { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; maxNorm: number }

function textbookAdamW(theta: Float64Array, m: Float64Array, v: Float64Array, grads: Float64Array[], t: number, h: Hyper): void {
  // clip_grad_norm_: one norm over every gradient tensor; scale only when it exceeds maxNorm.
  const norm = Math.sqrt(grads.reduce((sum, g) => sum + g.reduce((s, x) => s + x * x, 0), 0));
  const coef = Math.min(1, h.maxNorm / (norm + 1e-6));
  const g = Float64Array.from(grads.flatMap((x) => Array.from(x)), (x) => x * coef);
  for (let i = 0; i < theta.length; i++) {
    theta[i] -= h.lr * h.weightDecay * theta[i];
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * g[i];
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * g[i] * g[i];
    const mHat = m[i] / (1 - h.beta1 ** t);
    const vHat = v[i] / (1 - h.beta2 ** t);
    theta[i] -= (h.lr * mHat) / (Math.sqrt(vHat) + h.eps);
  }
}

describe('AdamW twin', () => {
  test.each([
    { lr: 3e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxNorm: 1 },
    { lr: 1e-2, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1, maxNorm: 100 }, // clipping never triggers
  ])('five steps over two gradient buffers match textbook AdamW %o', (h) => {
    const rng = seeded(11);
    const sizes = [7, 12];
    const N = sizes[0] + sizes[1];
    const params = randn(rng, N), m = new Float32Array(N), v = new Float32Array(N);
    const theta = Float64Array.from(params), m64 = new Float64Array(N), v64 = new Float64Array(N);
    for (let step = 1; step <= 5; step++) {
      const grads = sizes.map((n) => randn(rng, n, 2));
      const normSq = new Float32Array(1);
      for (const g of grads) globalNormSquared(normSq, g, g.length);
      const flat = new Float32Array(N);
      flat.set(grads[0]);
      flat.set(grads[1], sizes[0]);
      adamwStep(params, m, v, flat, normSq, N, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, step, h.maxNorm);
      textbookAdamW(theta, m64, v64, grads.map((g) => Float64Array.from(g)), step, h);
    }
    for (let i = 0; i < N; i++) {
      expect(params[i]).toBeCloseTo(theta[i], 5);
      expect(m[i]).toBeCloseTo(m64[i], 5);
    }
  });

  test('clipping scales the step when the norm exceeds maxNorm and is off at Infinity', () => {
    const grads = Float32Array.of(3, 4); // norm 5
    const normSq = new Float32Array(1);
    globalNormSquared(normSq, grads, 2);
    expect(normSq[0]).toBe(25);
    const run = (maxNorm: number) => {
      const params = new Float32Array(2), m = new Float32Array(2), v = new Float32Array(2);
      adamwStep(params, m, v, grads, normSq, 2, 0.1, 0.9, 0.999, 1e-8, 0, 1, maxNorm);
      return m;
    };
    expect(run(1)[0]).toBeCloseTo(0.1 * 3 / 5, 5); // (1 - beta1) * g * maxNorm / norm
    expect(run(Infinity)[0]).toBeCloseTo(0.1 * 3, 5);
    expect(run(10)[0]).toBeCloseTo(0.1 * 3, 5);
  });
});
