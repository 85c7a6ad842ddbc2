import { describe, test } from 'vitest';
import { residualForward } from '../../src/kernels/residual';
import { residualForward as residualForwardRef } from '../../src/ref/residual';
import { expectAllClose, randn, seeded } from '../util';
import { testContext } from './harness';

describe('residual_forward', () => {
  test.each([1, 255, 257, 1000])('matches its CPU twin for N=%i', async (N) => {
    const ctx = await testContext();
    const rng = seeded(N);
    const out = randn(rng, N), inp = randn(rng, N);
    const outGpu = ctx.upload(out), inpGpu = ctx.upload(inp);
    residualForwardRef(out, inp, N);
    residualForward(ctx, outGpu, inpGpu, N);
    expectAllClose(await ctx.readF32(outGpu), out);
  });
});
