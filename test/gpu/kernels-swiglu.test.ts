import { describe, test } from 'vitest';
import { swigluForward } from '../../src/kernels/swiglu';
import { swigluForward as swigluForwardRef } from '../../src/ref/swiglu';
import { expectAllClose, randn, seeded } from '../util';
import { testContext } from './harness';

describe('swiglu_forward', () => {
  test.each([
    { N: 1, H: 1 },
    { N: 3, H: 85 },
    { N: 5, H: 257 },
  ])('matches its CPU twin %o', async ({ N, H }) => {
    const ctx = await testContext();
    const rng = seeded(N * 131 + H);
    // Scale 40 reaches gates where exp(-g) overflows, which must give 0, not NaN.
    const gate = randn(rng, N * H, 40), up = randn(rng, N * H);
    const expected = new Float32Array(N * H);
    swigluForwardRef(expected, gate, up, N, H);
    const out = ctx.buffer(N * H * 4);
    swigluForward(ctx, out, ctx.upload(gate), ctx.upload(up), N, H);
    expectAllClose(await ctx.readF32(out), expected, { atol: 1e-6, rtol: 1e-5 });
  });
});
