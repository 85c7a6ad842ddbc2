import { describe, test } from 'vitest';
import { rewardBackwardInput, rewardBackwardWeight, rewardForward } from '../../src/kernels/reward';
import { rewardBackwardInput as rewardBackwardInputRef, rewardBackwardWeight as rewardBackwardWeightRef, rewardForward as rewardForwardRef } from '../../src/ref/reward';
import { expectAllClose, randn, seeded } from '../util';
import { testContext } from './harness';

describe('reward head', () => {
  // C = 300 runs the forward's 256 lanes twice over a row and the weight pass over two workgroups.
  const shapes = [{ M: 1, C: 1 }, { M: 3, C: 37 }, { M: 9, C: 300 }, { M: 5, C: 257 }];

  test.each(shapes)('forward matches its CPU twin %o', async ({ M, C }) => {
    const ctx = await testContext();
    const rng = seeded(M * C);
    const hidden = randn(rng, M * C), score = randn(rng, C);
    const expected = new Float32Array(M);
    rewardForwardRef(expected, hidden, score, M, C);
    const rewards = ctx.upload(randn(rng, M)); // stale values must not survive
    rewardForward(ctx, rewards, ctx.upload(hidden), ctx.upload(score), M, C);
    expectAllClose(await ctx.readF32(rewards), expected, { atol: 1e-5, rtol: 1e-4 });
  });

  test.each(shapes)('backward input matches its CPU twin and accumulates %o', async ({ M, C }) => {
    const ctx = await testContext();
    const rng = seeded(M * C + 1);
    const drewards = randn(rng, M), score = randn(rng, C), dhidden = randn(rng, M * C);
    const dhiddenGpu = ctx.upload(dhidden);
    rewardBackwardInputRef(dhidden, drewards, score, M, C);
    rewardBackwardInput(ctx, dhiddenGpu, ctx.upload(drewards), ctx.upload(score), M, C);
    expectAllClose(await ctx.readF32(dhiddenGpu), dhidden, { atol: 1e-6, rtol: 1e-5 });
  });

  test.each(shapes)('backward weight matches its CPU twin and accumulates %o', async ({ M, C }) => {
    const ctx = await testContext();
    const rng = seeded(M * C + 2);
    const drewards = randn(rng, M), hidden = randn(rng, M * C), dscore = randn(rng, C);
    const dscoreGpu = ctx.upload(dscore);
    rewardBackwardWeightRef(dscore, drewards, hidden, M, C);
    rewardBackwardWeight(ctx, dscoreGpu, ctx.upload(drewards), ctx.upload(hidden), M, C);
    expectAllClose(await ctx.readF32(dscoreGpu), dscore, { atol: 1e-5, rtol: 1e-4 });
  });
});
