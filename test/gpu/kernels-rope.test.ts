import { describe, test } from 'vitest';
import { ropeForward } from '../../src/kernels/rope';
import { ropeForward as ropeForwardRef } from '../../src/ref/rope';
import { expectAllClose, randInt, randn, seeded } from '../util';
import { testContext } from './harness';

describe('rope_forward', () => {
  test.each([
    { N: 1, NH: 1, HS: 2, theta: 10000, maxPos: 1 },
    { N: 5, NH: 3, HS: 6, theta: 10000, maxPos: 64 },
    { N: 7, NH: 2, HS: 64, theta: 10000, maxPos: 8192 }, // long positions: thousands of radians
    { N: 3, NH: 5, HS: 64, theta: 1000000, maxPos: 32768 },
  ])('matches its CPU twin %o', async ({ N, NH, HS, theta, maxPos }) => {
    const ctx = await testContext();
    const rng = seeded(N * 31 + HS);
    const x = randn(rng, N * NH * HS), positions = randInt(rng, N, maxPos);
    const xGpu = ctx.upload(x);
    ropeForwardRef(x, positions, N, NH, HS, theta);
    ropeForward(ctx, xGpu, ctx.upload(positions), N, NH, HS, theta);
    expectAllClose(await ctx.readF32(xGpu), x, { atol: 2e-6, rtol: 1e-5 });
  });
});
