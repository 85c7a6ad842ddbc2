import { afterEach, describe, expect, test } from 'vitest';
import { matmulForward } from '../../src/kernels/matmul';
import { MatmulChoices, matmulChoices, variantById, variantsOf } from '../../src/kernels/matmul-variants';
import { matmulForward as matmulForwardRef } from '../../src/ref/matmul';
import { roundToF16, toF16 } from '../../src/model/f16';
import { expectAllClose, randn, seeded } from '../util';
import { testContext } from './harness';

const ctx = await testContext();
const choices = matmulChoices(ctx);
afterEach(() => choices.pin('matmul_forward', null));

// Odd shapes: edges of 1, partial tiles and row blocks both ways, partial 16-chunks, decode batches of 1 to 8
// (2 to 4 rows take the direct kernel's 4-row path),
// rows past a block of 8, and reductions past one round of 32 chunks. A variant runs the shapes it fits.
const shapes = [
  { N: 1, C: 1, OC: 1 },
  { N: 1, C: 4, OC: 1 },
  { N: 67, C: 172, OC: 130 },
  { N: 8, C: 64, OC: 13 },
  { N: 1, C: 256, OC: 3 },
  { N: 3, C: 33, OC: 65 },
  { N: 2, C: 36, OC: 9 },
  { N: 4, C: 68, OC: 70 },
  { N: 5, C: 260, OC: 65 },
  { N: 8, C: 1028, OC: 9 },
  { N: 9, C: 17, OC: 130 },
  { N: 13, C: 100, OC: 67 },
  { N: 70, C: 102, OC: 67 },
];
const variants = variantsOf('matmul_forward').map((v) => v.id);

/** Runs the pinned variant on uploaded copies and reads `out` (N, OC) back. */
async function run(inp: Float32Array, weight: Float32Array | Uint16Array, bias: Float32Array | null, N: number, C: number, OC: number) {
  const out = ctx.buffer(N * OC * 4);
  const dtype = weight instanceof Uint16Array ? 'f16' : 'f32';
  matmulForward(ctx, out, ctx.upload(inp), { buffer: ctx.upload(weight), dtype }, bias && ctx.upload(bias), N, C, OC);
  return ctx.readF32(out);
}

/** The shapes `id` computes. */
const fitting = (id: string) => shapes.filter(({ N, C, OC }) => variantsOf('matmul_forward').find((v) => v.id === id)!.fits(N, C, OC));

// A variant that needs a feature this GPU lacks (subgroups) is never launched, so there is nothing to test.
const available = (id: string) => choices.isAvailable(variantById('matmul_forward', id));

describe.each(variants.filter(available))('matmul_forward, variant %s', (id) => {
  test.each(fitting(id))('matches its CPU twin with and without bias %o', async ({ N, C, OC }) => {
    choices.pin('matmul_forward', id);
    expect(choices.pick('matmul_forward', N, C, OC, 'f32').id).toBe(id);
    const rng = seeded(N * 1000 + C + OC);
    const inp = randn(rng, N * C), weight = randn(rng, OC * C), bias = randn(rng, OC);
    for (const b of [null, bias]) {
      const expected = new Float32Array(N * OC);
      matmulForwardRef(expected, inp, weight, b, N, C, OC);
      expectAllClose(await run(inp, weight, b, N, C, OC), expected, { atol: 1e-4, rtol: 1e-4 });
    }
  });

  // A projection into the residual stream: out += inp @ W^T + b, the sum of a plain product and the stream to the bit.
  test.each(fitting(id))('accumulate adds the product to what out holds %o', async ({ N, C, OC }) => {
    choices.pin('matmul_forward', id);
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

  test.skipIf(!ctx.shaderF16).each(fitting(id))('f16 weights match the twin on f16-rounded weights %o', async ({ N, C, OC }) => {
    choices.pin('matmul_forward', id);
    const rng = seeded(N + C + OC);
    const inp = randn(rng, N * C), weight = randn(rng, OC * C);
    const expected = new Float32Array(N * OC);
    matmulForwardRef(expected, inp, roundToF16(weight), null, N, C, OC);
    expectAllClose(await run(inp, toF16(weight), null, N, C, OC), expected, { atol: 1e-4, rtol: 1e-4 });
  });
});

// Batched decoding must give the bits of single-row decoding whichever variants the two calls take: every
// variant keeps one reduction order, so a row's bits depend on neither N nor the variant.
describe('matmul_forward reduction order', () => {
  test.each([
    { N: 3, C: 300, OC: 41 },
    { N: 5, C: 300, OC: 41 },
    { N: 13, C: 300, OC: 41 },
    { N: 70, C: 1028, OC: 19 },
    { N: 70, C: 172, OC: 41 },
  ])('each row has the same bits alone and in a batch, under every variant %o', async ({ N, C, OC }) => {
    const rng = seeded(N + C);
    const inp = randn(rng, N * C), weight = randn(rng, OC * C), bias = randn(rng, OC);
    choices.pin('matmul_forward', 'tiled');
    const reference = await run(inp, weight, bias, N, C, OC);
    for (const id of variants.filter(available)) {
      choices.pin('matmul_forward', id);
      const all = await run(inp, weight, bias, N, C, OC);
      expect(Array.from(all), `${id}, all rows`).toEqual(Array.from(reference));
      for (const n of [0, N - 1]) {
        const single = await run(inp.slice(n * C, (n + 1) * C), weight, bias, 1, C, OC);
        expect(Array.from(single), `${id}, row ${n} alone`).toEqual(Array.from(reference.subarray(n * OC, (n + 1) * OC)));
      }
    }
  });

  test('a row class without a tuned choice takes the static rule, and an excluded variant the plain one', () => {
    const fresh = new MatmulChoices();
    expect(fresh.pick('matmul_forward', 1, 576, 1536, 'f32').id).toBe('direct_x16_y1');
    expect(fresh.pick('matmul_forward', 1, 575, 1536, 'f32').id).toBe('tiled');
    fresh.setTuned({ 'matmul_forward 1 576x1536 f32': 'direct_x32_y1' });
    expect(fresh.pick('matmul_forward', 1, 576, 1536, 'f32').id).toBe('direct_x32_y1');
    expect(fresh.pick('matmul_forward', 4, 576, 1536, 'f32').id).toBe('direct_x16_y1');
    fresh.exclude({ kernel: 'matmul_forward', variant: 'direct_x32_y1', dtype: 'f32', reason: 'test' });
    fresh.exclude({ kernel: 'matmul_forward', variant: 'direct_x16_y1', dtype: 'f32', reason: 'test' });
    expect(fresh.pick('matmul_forward', 1, 576, 1536, 'f32').id).toBe('tiled');
  });

  test('the subgroup variant is picked only where the device has subgroups, even when pinned', () => {
    for (const subgroups of [false, true]) {
      const fresh = new MatmulChoices({ subgroups });
      fresh.pin('matmul_forward', 'subgroup');
      expect(fresh.pick('matmul_forward', 1, 576, 1536, 'f32').id).toBe(subgroups ? 'subgroup' : 'direct_x16_y1');
      // It computes up to 4 rows; more take the static rule.
      expect(fresh.pick('matmul_forward', 5, 576, 1536, 'f32').id).not.toBe('subgroup');
    }
  });
});
