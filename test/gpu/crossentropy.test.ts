import { describe, test } from 'vitest';
import { crossentropyBackward, crossentropyForward } from '../../src/kernels/crossentropy';
import { crossentropyBackward as crossentropyBackwardRef, crossentropyForward as crossentropyForwardRef } from '../../src/ref/crossentropy';
import { expectAllClose, randInt, randn, seeded } from '../util';
import { testContext } from './harness';

// Targets in range, with the first and last classes and a masked row whenever N > 1.
function makeTargets(seed: number, N: number, V: number): Int32Array {
  const targets = Int32Array.from(randInt(seeded(seed), N, V));
  if (N > 1) targets[1] = -100;
  if (N > 2) targets[2] = V - 1;
  return targets;
}

describe('crossentropy', () => {
  // One invocation per row where V is a multiple of 4 up to ROW_MAX_V (1000, 4, 512 with 67 rows), else a workgroup per row.
  const shapes = [{ N: 1, V: 1 }, { N: 3, V: 257 }, { N: 7, V: 1000 }, { N: 5, V: 31 }, { N: 3, V: 4 }, { N: 67, V: 512 }, { N: 3, V: 1028 }];

  test.each(shapes)('forward matches its CPU twin %o', async ({ N, V }) => {
    const ctx = await testContext();
    const logits = randn(seeded(V), N * V, 3), targets = makeTargets(N, N, V);
    const expected = new Float32Array(N);
    crossentropyForwardRef(expected, logits, targets, N, V);
    const losses = ctx.buffer(N * 4);
    crossentropyForward(ctx, losses, ctx.upload(logits), ctx.upload(targets), N, V);
    expectAllClose(await ctx.readF32(losses), expected, { atol: 1e-5, rtol: 1e-5 });
  });

  test.each(shapes)('backward matches its CPU twin and overwrites %o', async ({ N, V }) => {
    const ctx = await testContext();
    const logits = randn(seeded(V + 1), N * V, 3), targets = makeTargets(N + 1, N, V);
    const dlosses = randn(seeded(V + 2), N); // a different upstream gradient per row
    const expected = new Float32Array(N * V);
    crossentropyBackwardRef(expected, logits, targets, dlosses, N, V);
    const dlogits = ctx.upload(randn(seeded(9), N * V)); // stale values must not survive
    crossentropyBackward(ctx, dlogits, ctx.upload(logits), ctx.upload(targets), ctx.upload(dlosses), N, V);
    expectAllClose(await ctx.readF32(dlogits), expected, { atol: 1e-6, rtol: 1e-4 });
  });
});
