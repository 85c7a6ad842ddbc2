import { describe, expect, test } from 'vitest';
import { VECTOR_ROWS, matmulForward } from '../../src/kernels/matmul';
import { matmulForward as matmulForwardRef } from '../../src/ref/matmul';
import { roundToF16, toF16 } from '../../src/model/f16';
import { expectAllClose, randn, seeded } from '../util';
import { testContext } from './harness';

const ctx = await testContext();

const shapes = [
  { N: 1, C: 1, OC: 1 }, // tiled (C not a multiple of 4)
  { N: 1, C: 4, OC: 1 }, // narrow (C a multiple of 4 up to NARROW_MAX_C)
  { N: 67, C: 172, OC: 130 }, // narrow, partial tiles both ways
  { N: 8, C: 64, OC: 13 }, // narrow, a decode batch
  { N: 1, C: 256, OC: 3 }, // matrix-vector
  { N: 3, C: 33, OC: 65 },
  { N: 5, C: 260, OC: 65 }, // matrix-vector, a partial 16-chunk and a partial group of 8 columns
  { N: 8, C: 1028, OC: 9 }, // matrix-vector, more than one round of 32 chunks
  { N: 9, C: 17, OC: 130 }, // tiled, partial tiles
  { N: 70, C: 100, OC: 67 }, // narrow
  { N: 70, C: 102, OC: 67 }, // tiled
];

/** Runs the kernel on uploaded copies and reads `out` (N, OC) back. */
async function run(inp: Float32Array, weight: Float32Array | Uint16Array, bias: Float32Array | null, N: number, C: number, OC: number) {
  const out = ctx.buffer(N * OC * 4);
  const dtype = weight instanceof Uint16Array ? 'f16' : 'f32';
  matmulForward(ctx, out, ctx.upload(inp), { buffer: ctx.upload(weight), dtype }, bias && ctx.upload(bias), N, C, OC);
  return ctx.readF32(out);
}

describe('matmul_forward', () => {
  test.each(shapes)('matches its CPU twin with and without bias %o', async ({ N, C, OC }) => {
    const rng = seeded(N * 1000 + C + OC);
    const inp = randn(rng, N * C), weight = randn(rng, OC * C), bias = randn(rng, OC);
    for (const b of [null, bias]) {
      const expected = new Float32Array(N * OC);
      matmulForwardRef(expected, inp, weight, b, N, C, OC);
      expectAllClose(await run(inp, weight, b, N, C, OC), expected, { atol: 1e-4, rtol: 1e-4 });
    }
  });

  // Batched decoding must give the bits of single-row decoding, also past VECTOR_ROWS (tiled kernel) and
  // when C is not a multiple of 4 (tiled kernel for every N).
  test.each([
    { N: 5, C: 300, OC: 41 },
    { N: VECTOR_ROWS + 5, C: 300, OC: 41 },
    { N: 70, C: 1028, OC: 19 },
    { N: 5, C: 301, OC: 41 },
    { N: 70, C: 172, OC: 41 }, // narrow for every N
    { N: VECTOR_ROWS + 5, C: 256, OC: 41 }, // narrow here, matrix-vector alone
  ])('each row of a batch has the bits of that row alone %o', async ({ N, C, OC }) => {
    const rng = seeded(N + C);
    const inp = randn(rng, N * C), weight = randn(rng, OC * C), bias = randn(rng, OC);
    const all = await run(inp, weight, bias, N, C, OC);
    for (const n of [0, 1, N - 1]) {
      const single = await run(inp.slice(n * C, (n + 1) * C), weight, bias, 1, C, OC);
      expect(Array.from(single)).toEqual(Array.from(all.subarray(n * OC, (n + 1) * OC)));
    }
  });

  // A projection into the residual stream: out += inp @ W^T + b on every kernel path, the sum of a plain product
  // and the stream to the bit.
  test.each(shapes)('accumulate adds the product to what out holds %o', async ({ N, C, OC }) => {
    const rng = seeded(N * 7 + C * 3 + OC);
    const inp = randn(rng, N * C), weight = randn(rng, OC * C), bias = randn(rng, OC), stream = randn(rng, N * OC);
    const out = ctx.upload(stream);
    matmulForward(ctx, out, ctx.upload(inp), { buffer: ctx.upload(weight), dtype: 'f32' }, ctx.upload(bias), N, C, OC, true);
    const summed = await ctx.readF32(out);
    const expected = stream.slice();
    matmulForwardRef(expected, inp, weight, bias, N, C, OC, true);
    expectAllClose(summed, expected, { atol: 1e-4, rtol: 1e-4 });
    const product = await run(inp, weight, bias, N, C, OC);
    expect(Array.from(summed)).toEqual(Array.from(product, (p, i) => Math.fround(stream[i] + p)));
  });

  test.skipIf(!ctx.shaderF16).each(shapes)('f16 weights match the twin on f16-rounded weights %o', async ({ N, C, OC }) => {
    const rng = seeded(N + C + OC);
    const inp = randn(rng, N * C), weight = randn(rng, OC * C);
    const expected = new Float32Array(N * OC);
    matmulForwardRef(expected, inp, roundToF16(weight), null, N, C, OC);
    expectAllClose(await run(inp, toF16(weight), null, N, C, OC), expected, { atol: 1e-4, rtol: 1e-4 });
  });
});
