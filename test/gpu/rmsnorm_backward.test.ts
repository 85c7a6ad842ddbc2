import { describe, test } from 'vitest';
import { rmsnormBackward } from '../../src/kernels/rmsnorm_backward';
import { rmsnormBackward as rmsnormBackwardRef } from '../../src/ref/rmsnorm_backward';
import { expectAllClose, randn, seeded } from '../util';
import { testContext } from './harness';

describe('rmsnorm_backward', () => {
  test.each([{ N: 1, C: 1 }, { N: 3, C: 257 }, { N: 7, C: 600 }, { N: 5, C: 17 }, { N: 4, C: 100 }, { N: 67, C: 64 }, { N: 2, C: 4 }, { N: 3, C: 260 }])('accumulates like its CPU twin %o', async ({ N, C }) => {
    const ctx = await testContext();
    const rng = seeded(N * 7 + C);
    const dinp = randn(rng, N * C), dout = randn(rng, N * C), inp = randn(rng, N * C), weight = randn(rng, C);
    const dinpGpu = ctx.upload(dinp);
    rmsnormBackward(ctx, dinpGpu, ctx.upload(dout), ctx.upload(inp), ctx.upload(weight), N, C, 1e-5);
    rmsnormBackwardRef(dinp, dout, inp, weight, N, C, 1e-5);
    expectAllClose(await ctx.readF32(dinpGpu), dinp, { atol: 1e-5, rtol: 1e-4 });
  });
});
