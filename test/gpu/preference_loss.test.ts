import { describe, expect, test } from 'vitest';
import { preferenceLossBackward, preferenceLossForward } from '../../src/kernels/preference_loss';
import { preferenceLossBackward as preferenceLossBackwardRef, preferenceLossForward as preferenceLossForwardRef } from '../../src/ref/preference_loss';
import { expectAllClose, randn, seeded } from '../util';
import { testContext } from './harness';

interface Case {
  values: Float32Array; // (2P)
  reference: Float32Array; // (2P)
  margins: Float32Array; // (P)
  beta: number;
  P: number;
}

async function runForward({ values, reference, margins, beta, P }: Case): Promise<Float32Array> {
  const ctx = await testContext();
  const losses = ctx.upload(randn(seeded(5), P)); // stale values must not survive
  preferenceLossForward(ctx, losses, ctx.upload(values), ctx.upload(reference), ctx.upload(margins), beta, P);
  return ctx.readF32(losses);
}

async function runBackward({ values, reference, margins, beta, P }: Case, scale: number): Promise<Float32Array> {
  const ctx = await testContext();
  const dvalues = ctx.upload(randn(seeded(6), 2 * P)); // overwritten, not accumulated
  preferenceLossBackward(ctx, dvalues, ctx.upload(values), ctx.upload(reference), ctx.upload(margins), beta, scale, P);
  return ctx.readF32(dvalues);
}

describe('preference loss', () => {
  const shapes = [
    { P: 1, beta: 1, withReference: false, withMargins: true }, // the reward model
    { P: 3, beta: 0.1, withReference: true, withMargins: false }, // DPO
    { P: 7, beta: 2.5, withReference: true, withMargins: true },
  ];
  const makeCase = ({ P, beta, withReference, withMargins }: (typeof shapes)[number]): Case => {
    const rng = seeded(P * 10 + beta);
    return {
      values: randn(rng, 2 * P, 2),
      reference: withReference ? randn(rng, 2 * P, 2) : new Float32Array(2 * P),
      margins: withMargins ? randn(rng, P) : new Float32Array(P),
      beta,
      P,
    };
  };

  test.each(shapes)('forward matches its CPU twin %o', async (shape) => {
    const c = makeCase(shape);
    const expected = new Float32Array(c.P);
    preferenceLossForwardRef(expected, c.values, c.reference, c.margins, c.beta, c.P);
    expectAllClose(await runForward(c), expected, { atol: 1e-5, rtol: 1e-5 });
  });

  test.each(shapes)('backward matches its CPU twin and overwrites %o', async (shape) => {
    const c = makeCase(shape);
    const scale = 1 / c.P;
    const expected = new Float32Array(2 * c.P);
    preferenceLossBackwardRef(expected, c.values, c.reference, c.margins, c.beta, scale, c.P);
    expectAllClose(await runBackward(c, scale), expected, { atol: 1e-6, rtol: 1e-5 });
  });

  test('values equal to the reference, or all zero, lose log 2 per pair with gradients of beta / 2', async () => {
    const P = 5, beta = 0.3;
    const values = randn(seeded(7), 2 * P);
    for (const c of [
      { values, reference: values, margins: new Float32Array(P), beta, P },
      { values: new Float32Array(2 * P), reference: new Float32Array(2 * P), margins: new Float32Array(P), beta, P },
    ]) {
      for (const loss of await runForward(c)) expect(loss).toBeCloseTo(Math.LN2, 6);
      const dvalues = await runBackward(c, 1);
      for (let p = 0; p < P; p++) {
        expect(dvalues[p]).toBeCloseTo(-beta / 2, 6);
        expect(dvalues[P + p]).toBeCloseTo(beta / 2, 6);
      }
    }
  });

  test('large |z| gives finite losses and gradients', async () => {
    // z = 80, -80, 200, -200: a naive log(1 + exp(-z)) gives an infinite loss at -200, where exp(-z) overflows f32.
    const zs = [80, -80, 200, -200];
    const P = zs.length;
    const values = new Float32Array(2 * P);
    zs.forEach((z, p) => {
      values[p] = z / 2;
      values[P + p] = -z / 2;
    });
    const c = { values, reference: new Float32Array(2 * P), margins: new Float32Array(P), beta: 1, P };
    const losses = await runForward(c), dvalues = await runBackward(c, 1);
    expect([...losses, ...dvalues].every(Number.isFinite)).toBe(true);
    const expectedLosses = new Float32Array(P), expectedGrads = new Float32Array(2 * P);
    preferenceLossForwardRef(expectedLosses, c.values, c.reference, c.margins, c.beta, P);
    preferenceLossBackwardRef(expectedGrads, c.values, c.reference, c.margins, c.beta, 1, P);
    expectAllClose(losses, expectedLosses, { atol: 1e-5, rtol: 1e-6 }); // ~0 for z > 0, -z for z < 0
    expectAllClose(dvalues, expectedGrads, { atol: 1e-6, rtol: 1e-6 }); // ~0 for z > 0, -/+1 for z < 0
  });
});
