import { describe, test } from 'vitest';
import { ropeForward } from '../../src/kernels/rope';
import { ropeForward as ropeForwardRef } from '../../src/ref/rope';
import { expectAllClose, randInt, randn, seeded } from '../util';
import { testContext } from './harness';

describe('rope_forward', () => {
  const shapes = [
    { N: 1, NH: 1, HS: 2, theta: 10000 },
    { N: 7, NH: 3, HS: 10, theta: 10000 },
    { N: 13, NH: 5, HS: 64, theta: 1e6 },
  ];
  test.each(shapes)('matches its CPU twin %o', async ({ N, NH, HS, theta }) => {
    const ctx = await testContext();
    const rng = seeded(N * 31 + HS);
    const x = randn(rng, N * NH * HS);
    const positions = randInt(rng, N, 300);
    const xGpu = ctx.upload(x);
    ropeForward(ctx, xGpu, ctx.upload(positions), N, NH, HS, theta);
    ropeForwardRef(x, positions, N, NH, HS, theta);
    // GPU sin/cos of angles up to ~300 rad lose a few ulps of the angle.
    expectAllClose(await ctx.readF32(xGpu), x, { atol: 2e-4, rtol: 1e-3 });
  });

  test('position 0 leaves x unchanged', async () => {
    const ctx = await testContext();
    const x = randn(seeded(1), 3 * 2 * 8);
    const xGpu = ctx.upload(x);
    ropeForward(ctx, xGpu, ctx.upload(new Uint32Array(3)), 3, 2, 8, 10000);
    expectAllClose(await ctx.readF32(xGpu), x, { atol: 0, rtol: 0 });
  });
});
