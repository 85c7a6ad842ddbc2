import { describe, test } from 'vitest';
import { swigluBackward } from '../../src/kernels/swiglu_backward';
import { swigluBackward as swigluBackwardRef } from '../../src/ref/swiglu_backward';
import { expectAllClose, randn, seeded } from '../util';
import { testContext } from './harness';

describe('swiglu_backward', () => {
  test.each([{ N: 1, H: 1 }, { N: 3, H: 257 }, { N: 11, H: 97 }])('accumulates like its CPU twin %o', async ({ N, H }) => {
    const ctx = await testContext();
    const rng = seeded(N * 31 + H);
    const dgate = randn(rng, N * H), dup = randn(rng, N * H), dout = randn(rng, N * H), gate = randn(rng, N * H, 3), up = randn(rng, N * H);
    const dgateGpu = ctx.upload(dgate), dupGpu = ctx.upload(dup);
    swigluBackward(ctx, dgateGpu, dupGpu, ctx.upload(dout), ctx.upload(gate), ctx.upload(up), N, H);
    swigluBackwardRef(dgate, dup, dout, gate, up, N, H);
    expectAllClose(await ctx.readF32(dgateGpu), dgate, { atol: 1e-5, rtol: 1e-4 });
    expectAllClose(await ctx.readF32(dupGpu), dup, { atol: 1e-5, rtol: 1e-4 });
  });
});
