import { describe, test } from 'vitest';
import { rmsnormForward } from '../../src/kernels/rmsnorm';
import { rmsnormForward as rmsnormForwardRef } from '../../src/ref/rmsnorm';
import { expectAllClose, randn, seeded } from '../util';
import { testContext } from './harness';

describe('rmsnorm_forward', () => {
  test.each([
    { N: 1, C: 1 },
    { N: 3, C: 255 },
    { N: 4, C: 102 }, // 128 lanes (workgroups are sized to C)
    { N: 4, C: 100 }, // one invocation per row (C a multiple of 4)
    { N: 67, C: 64 }, // rows past one workgroup of 64
    { N: 5, C: 256 },
    { N: 17, C: 257 },
    { N: 2, C: 1000 }, // one invocation per row, wide
    { N: 70, C: 1538 }, // a workgroup per row, wide
  ])('matches its CPU twin %o', async ({ N, C }) => {
    const ctx = await testContext();
    const rng = seeded(N * 7919 + C);
    const inp = randn(rng, N * C, 3), weight = randn(rng, C);
    const eps = 1e-5;
    const expected = new Float32Array(N * C);
    rmsnormForwardRef(expected, inp, weight, N, C, eps);
    const out = ctx.buffer(N * C * 4);
    rmsnormForward(ctx, out, ctx.upload(inp), ctx.upload(weight), N, C, eps);
    expectAllClose(await ctx.readF32(out), expected, { atol: 1e-5, rtol: 1e-5 });
  });
});
