import { describe, test } from 'vitest';
import { attentionForward } from '../../src/kernels/attention';
import { attentionForward as attentionForwardRef } from '../../src/ref/attention';
import { expectAllClose, randn, seeded } from '../util';
import { testContext } from './harness';

describe('attention_forward', () => {
  const shapes = [
    { B: 1, T: 1, NH: 1, NKV: 1, HS: 1, S: 1, start: 0, validFrom: [0] },
    { B: 2, T: 7, NH: 6, NKV: 2, HS: 10, S: 7, start: 0, validFrom: [0, 0] }, // prefill, GQA
    { B: 3, T: 1, NH: 4, NKV: 4, HS: 64, S: 150, start: 149, validFrom: [0, 37, 100] }, // decode past a tile, left padding
    { B: 1, T: 5, NH: 8, NKV: 1, HS: 130, S: 80, start: 70, validFrom: [3] }, // head dims > one per invocation
    { B: 2, T: 3, NH: 2, NKV: 1, HS: 128, S: 300, start: 290, validFrom: [0, 5] }, // five tiles of 64 slots
    // Left padding longer than a query's position: queries 0 and 1 of row 1 attend nothing and give zeros.
    { B: 2, T: 4, NH: 3, NKV: 3, HS: 7, S: 4, start: 0, validFrom: [0, 2] },
    // Blocks of queries: T past a block, head dims 8 / 64 / 128, GQA groups of 2 and 3, a prefill after cached slots.
    { B: 2, T: 70, NH: 4, NKV: 2, HS: 8, S: 70, start: 0, validFrom: [0, 9] },
    { B: 1, T: 37, NH: 6, NKV: 2, HS: 64, S: 45, start: 5, validFrom: [2] },
    { B: 2, T: 1, NH: 4, NKV: 1, HS: 128, S: 40, start: 39, validFrom: [0, 3] },
  ];
  test.each(shapes)('matches its CPU twin %o', async ({ B, T, NH, NKV, HS, S, start, validFrom }) => {
    const ctx = await testContext();
    const rng = seeded(B * 100 + T * 10 + HS);
    const q = randn(rng, B * T * NH * HS);
    const k = randn(rng, B * S * NKV * HS);
    const v = randn(rng, B * S * NKV * HS);
    const valid = Uint32Array.from(validFrom);
    const expected = new Float32Array(B * T * NH * HS);
    attentionForwardRef(expected, q, k, v, valid, B, T, NH, NKV, HS, S, start);
    const out = ctx.buffer(expected.byteLength);
    attentionForward(ctx, out, ctx.upload(q), ctx.upload(k), ctx.upload(v), ctx.upload(valid), B, T, NH, NKV, HS, S, start);
    expectAllClose(await ctx.readF32(out), expected, { atol: 1e-5, rtol: 1e-4 });
  });
});
