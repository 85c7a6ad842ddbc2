import { describe, test } from 'vitest';
import { adamwStep, globalNormSquared } from '../../src/kernels/adamw';
import { adamwStep as adamwStepRef, globalNormSquared as globalNormSquaredRef } from '../../src/ref/adamw';
import { expectAllClose, randn, seeded } from '../util';
import { testContext } from './harness';

describe('optimizer kernels', () => {
  test.each([1, 255, 1000, 70001])('global_norm_squared accumulates like its CPU twin for N=%i', async (N) => {
    const ctx = await testContext();
    const grads = randn(seeded(N), N);
    const out = Float32Array.of(2.5);
    const outGpu = ctx.upload(out);
    globalNormSquared(ctx, outGpu, ctx.upload(grads), N);
    globalNormSquaredRef(out, grads, N);
    expectAllClose(await ctx.readF32(outGpu, 1), out, { atol: 1e-5, rtol: 1e-5 });
  });

  test.each([
    { N: 1, maxNorm: 1 },
    { N: 257, maxNorm: 1 }, // the norm of 257 unit normals is ~16: clipping is active
    { N: 1000, maxNorm: Infinity },
  ])('three clipped AdamW steps match the CPU twin %o', async ({ N, maxNorm }) => {
    const ctx = await testContext();
    const rng = seeded(N + 5);
    const params = randn(rng, N), m = new Float32Array(N), v = new Float32Array(N);
    const buffers = { params: ctx.upload(params), m: ctx.upload(m), v: ctx.upload(v), normSq: ctx.buffer(4) };
    for (let step = 1; step <= 3; step++) {
      const grads = randn(rng, N);
      const gradsGpu = ctx.upload(grads);
      ctx.clear(buffers.normSq);
      globalNormSquared(ctx, buffers.normSq, gradsGpu, N);
      adamwStep(ctx, buffers.params, buffers.m, buffers.v, gradsGpu, buffers.normSq, N, 3e-4 * step, 0.9, 0.999, 1e-8, 0.01, step, maxNorm);
      const normSq = new Float32Array(1);
      globalNormSquaredRef(normSq, grads, N);
      adamwStepRef(params, m, v, grads, normSq, N, 3e-4 * step, 0.9, 0.999, 1e-8, 0.01, step, maxNorm);
    }
    expectAllClose(await ctx.readF32(buffers.m), m, { atol: 1e-6, rtol: 1e-4 });
    expectAllClose(await ctx.readF32(buffers.v), v, { atol: 1e-7, rtol: 1e-4 });
    expectAllClose(await ctx.readF32(buffers.params), params, { atol: 1e-6, rtol: 1e-5 });
  });
});
