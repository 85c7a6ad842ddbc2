import { describe, expect, test } from 'vitest';
import { seqlogpBackward, seqlogpForward } from '../../src/kernels/seqlogp';
import { seqlogpBackward as seqlogpBackwardRef, seqlogpForward as seqlogpForwardRef } from '../../src/ref/seqlogp';
import { expectAllClose, randn, seeded } from '../util';
import { testContext } from './harness';

describe('seqlogp', () => {
  const cases = [
    { M: 1, starts: [0, 1] },
    { M: 9, starts: [0, 3, 3, 8, 9] }, // an empty sequence between two others
    // Rows 0, 1, 313 and 314 outside every sequence, a sequence of 300 rows (more than the 256 lanes), an empty
    // one in the middle and one at the end.
    { M: 315, starts: [2, 7, 307, 307, 308, 313, 313] },
  ];

  test.each(cases)('forward matches its CPU twin %o', async ({ M, starts: list }) => {
    const ctx = await testContext();
    const S = list.length - 1, starts = Uint32Array.from(list);
    const losses = randn(seeded(M), M);
    const expected = new Float32Array(S);
    seqlogpForwardRef(expected, losses, starts, S);
    const logps = ctx.upload(randn(seeded(M + 1), S)); // stale values must not survive
    seqlogpForward(ctx, logps, ctx.upload(losses), ctx.upload(starts), S);
    expectAllClose(await ctx.readF32(logps), expected, { atol: 1e-5, rtol: 1e-5 });
  });

  test.each(cases)('backward matches its CPU twin and overwrites %o', async ({ M, starts: list }) => {
    const ctx = await testContext();
    const S = list.length - 1, starts = Uint32Array.from(list);
    const dlogps = randn(seeded(M + 2), S);
    const expected = new Float32Array(M);
    seqlogpBackwardRef(expected, dlogps, starts, M, S);
    const dlosses = ctx.upload(randn(seeded(M + 3), M)); // stale values must not survive
    seqlogpBackward(ctx, dlosses, ctx.upload(dlogps), ctx.upload(starts), M, S);
    expect(Array.from(await ctx.readF32(dlosses))).toEqual(Array.from(expected));
  });
});
