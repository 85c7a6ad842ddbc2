import { afterEach, describe, test } from 'vitest';
import { matmulBackwardInput, matmulBackwardWeight } from '../../src/kernels/matmul_backward';
import { matmulChoices, variantsOf } from '../../src/kernels/matmul-variants';
import { matmulBackwardInput as matmulBackwardInputRef, matmulBackwardWeight as matmulBackwardWeightRef } from '../../src/ref/matmul_backward';
import { roundToF16, toF16 } from '../../src/model/f16';
import { expectAllClose, randn, seeded } from '../util';
import { testContext } from './harness';

// Edges of 1, primes, and sizes just past the 64-wide tiles and the 16-deep reduction slices; then shapes the
// direct input passes take (C and OC multiples of 4), with partial tiles and row blocks, and rows past 8.
const { shaderF16 } = await testContext();
const shapes = [
  { N: 1, C: 1, OC: 1 }, { N: 7, C: 33, OC: 65 }, { N: 67, C: 70, OC: 19 }, { N: 3, C: 129, OC: 17 },
  { N: 1, C: 4, OC: 4 }, { N: 67, C: 68, OC: 20 }, { N: 5, C: 172, OC: 256 }, { N: 9, C: 8, OC: 260 },
  { N: 13, C: 36, OC: 580 }, { N: 2, C: 12, OC: 8 }, { N: 3, C: 68, OC: 36 },
];
const choices = matmulChoices(await testContext());
afterEach(() => choices.pin('matmul_backward_input', null));
const inputVariants = variantsOf('matmul_backward_input');
const fitting = (id: string) => shapes.filter(({ N, C, OC }) => inputVariants.find((v) => v.id === id)!.fits(N, C, OC));

describe.each(inputVariants.map((v) => v.id))('matmul_backward input pass, variant %s', (id) => {
  test.each(fitting(id))('accumulates like its CPU twin %o', async ({ N, C, OC }) => {
    const ctx = await testContext();
    choices.pin('matmul_backward_input', id);
    const rng = seeded(N * 1000 + C);
    const dinp = randn(rng, N * C), dout = randn(rng, N * OC), weight = randn(rng, OC * C);
    const dinpGpu = ctx.upload(dinp);
    matmulBackwardInput(ctx, dinpGpu, ctx.upload(dout), { buffer: ctx.upload(weight), dtype: 'f32' }, N, C, OC);
    matmulBackwardInputRef(dinp, dout, weight, N, C, OC);
    expectAllClose(await ctx.readF32(dinpGpu), dinp, { atol: 1e-5, rtol: 1e-4 });
  });

  // Adapters without shader-f16 (SwiftShader) skip this; the f32 variant above is the same kernel.
  test.skipIf(!shaderF16).each(fitting(id))('with f16 weights matches the twin on the rounded weights %o', async ({ N, C, OC }) => {
    const ctx = await testContext();
    choices.pin('matmul_backward_input', id);
    const rng = seeded(N * 1000 + C + 1);
    const dinp = randn(rng, N * C), dout = randn(rng, N * OC);
    const weight = roundToF16(randn(rng, OC * C));
    const dinpGpu = ctx.upload(dinp);
    matmulBackwardInput(ctx, dinpGpu, ctx.upload(dout), { buffer: ctx.upload(toF16(weight)), dtype: 'f16' }, N, C, OC);
    matmulBackwardInputRef(dinp, dout, weight, N, C, OC);
    expectAllClose(await ctx.readF32(dinpGpu), dinp, { atol: 1e-4, rtol: 1e-3 });
  });
});

describe('matmul_backward weight pass', () => {
  test.each(shapes)('weight pass accumulates like its CPU twin %o', async ({ N, C, OC }) => {
    const ctx = await testContext();
    const rng = seeded(N * 1000 + C + 2);
    const dweight = randn(rng, OC * C), dout = randn(rng, N * OC), inp = randn(rng, N * C);
    const dweightGpu = ctx.upload(dweight);
    matmulBackwardWeight(ctx, dweightGpu, ctx.upload(dout), ctx.upload(inp), N, C, OC);
    matmulBackwardWeightRef(dweight, dout, inp, N, C, OC);
    expectAllClose(await ctx.readF32(dweightGpu), dweight, { atol: 1e-5, rtol: 1e-4 });
  });
});
