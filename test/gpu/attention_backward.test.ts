import { describe, test } from 'vitest';
import { attentionBackward } from '../../src/kernels/attention_backward';
import { attentionBackward as attentionBackwardRef } from '../../src/ref/attention_backward';
import { expectAllClose, randn, seeded } from '../util';
import { testContext } from './harness';

describe('attention_backward', () => {
  // Odd head dims (2, 5, 72, 130) and T = 67 past a block of keys.
  test.each([
    { B: 1, T: 1, NH: 1, NKV: 1, HS: 2 },
    { B: 2, T: 7, NH: 6, NKV: 2, HS: 5 },
    { B: 1, T: 67, NH: 3, NKV: 1, HS: 72 },
    { B: 3, T: 13, NH: 4, NKV: 4, HS: 16 },
    { B: 1, T: 9, NH: 2, NKV: 1, HS: 130 },
    // T past a block of queries (32 for a group of 2) and of keys (64); head dims 8 / 64 / 128; a GQA group of 3.
    { B: 2, T: 70, NH: 4, NKV: 2, HS: 8 },
    { B: 1, T: 21, NH: 6, NKV: 2, HS: 64 },
    { B: 1, T: 11, NH: 2, NKV: 2, HS: 128 },
  ])('accumulates like its CPU twin %o', async ({ B, T, NH, NKV, HS }) => {
    const ctx = await testContext();
    const rng = seeded(B * 100 + T);
    const q = randn(rng, B * T * NH * HS), k = randn(rng, B * T * NKV * HS), v = randn(rng, B * T * NKV * HS);
    const dout = randn(rng, B * T * NH * HS);
    const dq = randn(rng, q.length), dk = randn(rng, k.length), dv = randn(rng, v.length);
    const stats = new Float32Array(B * NH * T * 2);
    const dqGpu = ctx.upload(dq), dkGpu = ctx.upload(dk), dvGpu = ctx.upload(dv), statsGpu = ctx.buffer(stats.byteLength);
    attentionBackward(ctx, dqGpu, dkGpu, dvGpu, statsGpu, ctx.upload(dout), ctx.upload(q), ctx.upload(k), ctx.upload(v), B, T, NH, NKV, HS);
    attentionBackwardRef(dq, dk, dv, stats, dout, q, k, v, B, T, NH, NKV, HS);
    expectAllClose(await ctx.readF32(statsGpu), stats, { atol: 1e-4, rtol: 1e-4 });
    expectAllClose(await ctx.readF32(dqGpu), dq, { atol: 1e-4, rtol: 1e-3 });
    expectAllClose(await ctx.readF32(dkGpu), dk, { atol: 1e-4, rtol: 1e-3 });
    expectAllClose(await ctx.readF32(dvGpu), dv, { atol: 1e-4, rtol: 1e-3 });
  });
});
