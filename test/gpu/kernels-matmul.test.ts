import { describe, expect, test } from 'vitest';
import { matmulForward } from '../../src/kernels/matmul';
import { matmulForward as matmulForwardRef } from '../../src/ref/matmul';
import { roundToF16, toF16 } from '../../src/ref/f16';
import { expectAllClose, randn, seeded } from '../util';
import { testContext } from './harness';

const shapes = [
  { N: 1, C: 1, OC: 1 },
  { N: 3, C: 33, OC: 65 }, // matrix-vector kernel
  { N: 8, C: 257, OC: 7 },
  { N: 9, C: 17, OC: 130 }, // tiled kernel, partial tiles
  { N: 70, C: 100, OC: 67 },
];

describe('matmul_forward', () => {
  test.each(shapes)('matches its CPU twin with and without bias %o', async ({ N, C, OC }) => {
    const ctx = await testContext();
    const rng = seeded(N * 1000 + C + OC);
    const inp = randn(rng, N * C), weight = randn(rng, OC * C), bias = randn(rng, OC);
    for (const b of [null, bias]) {
      const expected = new Float32Array(N * OC);
      matmulForwardRef(expected, inp, weight, b, N, C, OC);
      const out = ctx.buffer(expected.byteLength);
      matmulForward(ctx, out, ctx.upload(inp), { buffer: ctx.upload(weight), dtype: 'f32' }, b && ctx.upload(b), N, C, OC);
      expectAllClose(await ctx.readF32(out), expected, { atol: 1e-4, rtol: 1e-4 });
    }
  });

  test('a row gives the same bits alone as in a batch of five', async () => {
    const ctx = await testContext();
    const rng = seeded(5);
    const C = 300, OC = 41;
    const inp = randn(rng, 5 * C), weight = { buffer: ctx.upload(randn(rng, OC * C)), dtype: 'f32' as const };
    const batched = ctx.buffer(5 * OC * 4);
    matmulForward(ctx, batched, ctx.upload(inp), weight, null, 5, C, OC);
    const all = await ctx.readF32(batched);
    for (let n = 0; n < 5; n++) {
      const single = ctx.buffer(OC * 4);
      matmulForward(ctx, single, ctx.upload(inp.slice(n * C, (n + 1) * C)), weight, null, 1, C, OC);
      expect(Array.from(await ctx.readF32(single))).toEqual(Array.from(all.subarray(n * OC, (n + 1) * OC)));
    }
  });

  test('f16 weights (shader-f16 devices) match the twin on f16-rounded weights', async (t) => {
    const ctx = await testContext();
    if (!ctx.shaderF16) t.skip('this adapter has no shader-f16');
    for (const { N, C, OC } of shapes) {
      const rng = seeded(N + C + OC);
      const inp = randn(rng, N * C), weight = randn(rng, OC * C);
      const expected = new Float32Array(N * OC);
      matmulForwardRef(expected, inp, roundToF16(weight), null, N, C, OC);
      const out = ctx.buffer(expected.byteLength);
      matmulForward(ctx, out, ctx.upload(inp), { buffer: ctx.upload(toF16(weight)), dtype: 'f16' }, null, N, C, OC);
      expectAllClose(await ctx.readF32(out), expected, { atol: 1e-4, rtol: 1e-4 });
    }
  });
});
