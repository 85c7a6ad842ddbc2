import { describe, expect, test } from 'vitest';
import { scatterRows } from '../../src/kernels/scatter';
import { scatterRows as scatterRowsRef } from '../../src/ref/scatter';
import { randn, seeded } from '../util';
import { testContext } from './harness';

describe('scatter_rows', () => {
  test.each([
    { N: 1, M: 1, C: 1 },
    { N: 7, M: 3, C: 5 },
    { N: 300, M: 129, C: 3 },
  ])('matches its CPU twin and leaves other rows alone, %o', async ({ N, M, C }) => {
    const ctx = await testContext();
    const rng = seeded(N + M);
    // Every other row, from the end, so order and gaps both matter.
    const rows = Uint32Array.from({ length: M }, (_, m) => (N - 1 - 2 * m + N) % N);
    expect(new Set(rows).size).toBe(M);
    const out = randn(rng, N * C), src = randn(rng, M * C);
    const outGpu = ctx.upload(out), srcGpu = ctx.upload(src), rowsGpu = ctx.upload(rows);
    scatterRowsRef(out, src, rows, M, C);
    scatterRows(ctx, outGpu, srcGpu, rowsGpu, M, C);
    expect(Array.from(await ctx.readF32(outGpu))).toEqual(Array.from(out));
  });
});
