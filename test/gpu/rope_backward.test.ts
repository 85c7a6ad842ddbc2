import { describe, expect, test } from 'vitest';
import { ropeForward } from '../../src/kernels/rope';
import { ropeBackward } from '../../src/kernels/rope_backward';
import { ropeBackward as ropeBackwardRef } from '../../src/ref/rope_backward';
import { expectAllClose, randInt, randn, seeded } from '../util';
import { testContext } from './harness';

describe('rope_backward', () => {
  test.each([
    { N: 1, NH: 1, HS: 2, theta: 10000 },
    { N: 7, NH: 3, HS: 10, theta: 10000 },
    { N: 13, NH: 5, HS: 64, theta: 1e6 },
    { N: 3, NH: 2, HS: 8, theta: 10000, maxPosition: 5000 }, // long positions: angles of thousands of radians
  ])('matches its CPU twin %o', async ({ N, NH, HS, theta, maxPosition = 200 }) => {
    const ctx = await testContext();
    const rng = seeded(N + HS);
    const dx = randn(rng, N * NH * HS), positions = randInt(rng, N, maxPosition);
    const dxGpu = ctx.upload(dx);
    ropeBackward(ctx, dxGpu, ctx.upload(positions), N, NH, HS, theta);
    ropeBackwardRef(dx, positions, N, NH, HS, theta);
    expectAllClose(await ctx.readF32(dxGpu), dx, { atol: 1e-4, rtol: 1e-4 });
  });

  test('undoes ropeForward (a rotation is orthogonal)', async () => {
    const ctx = await testContext();
    const N = 5, NH = 3, HS = 16;
    const rng = seeded(3);
    const x = randn(rng, N * NH * HS), positions = randInt(rng, N, 100);
    const xGpu = ctx.upload(x), positionsGpu = ctx.upload(positions);
    ropeForward(ctx, xGpu, positionsGpu, N, NH, HS, 10000);
    const rotated = await ctx.readF32(xGpu);
    expect(rotated.some((value, i) => Math.abs(value - x[i]) > 1e-3)).toBe(true);
    ropeBackward(ctx, xGpu, positionsGpu, N, NH, HS, 10000);
    expectAllClose(await ctx.readF32(xGpu), x, { atol: 1e-5, rtol: 1e-4 });
  });
});
