import { describe, expect, test } from 'vitest';
import { embeddingForward } from '../../src/kernels/embedding';
import { F16UnsupportedError } from '../../src/kernels/shader';
import { embeddingForward as embeddingForwardRef } from '../../src/ref/embedding';
import { roundToF16, toF16 } from '../../src/model/f16';
import { expectAllClose, randInt, randn, seeded } from '../util';
import { testContext } from './harness';

const ctx = await testContext();

const shapes = [
  { N: 1, C: 1, V: 1 },
  { N: 7, C: 33, V: 50 },
  { N: 300, C: 257, V: 11 },
];

describe('embedding_forward', () => {
  test.each(shapes)('f32 table matches its CPU twin %o', async ({ N, C, V }) => {
    const rng = seeded(N * 1000 + C);
    const wte = randn(rng, V * C), ids = randInt(rng, N, V);
    const expected = new Float32Array(N * C);
    embeddingForwardRef(expected, ids, wte, N, C);
    const out = ctx.buffer(N * C * 4);
    embeddingForward(ctx, out, ctx.upload(ids), { buffer: ctx.upload(wte), dtype: 'f32' }, N, C);
    expectAllClose(await ctx.readF32(out), expected, { atol: 0, rtol: 0 });
  });

  test.skipIf(ctx.shaderF16)('f16 tables are refused with a clear error without shader-f16', () => {
    const run = () => embeddingForward(ctx, ctx.buffer(4), ctx.buffer(4), { buffer: ctx.buffer(4), dtype: 'f16' }, 1, 1);
    expect(run).toThrow(F16UnsupportedError);
  });

  test.skipIf(!ctx.shaderF16).each(shapes)('f16 table matches its CPU twin %o', async ({ N, C, V }) => {
    const rng = seeded(N * 1000 + C);
    const wte = randn(rng, V * C), ids = randInt(rng, N, V);
    const expected = new Float32Array(N * C);
    embeddingForwardRef(expected, ids, roundToF16(wte), N, C);
    const out = ctx.buffer(N * C * 4);
    embeddingForward(ctx, out, ctx.upload(ids), { buffer: ctx.upload(toF16(wte)), dtype: 'f16' }, N, C);
    expectAllClose(await ctx.readF32(out), expected, { atol: 0, rtol: 0 });
  });
});
