import { describe, test } from 'vitest';
import { loraBackward, loraForward } from '../../src/kernels/lora';
import { loraBackward as loraBackwardRef, loraForward as loraForwardRef } from '../../src/ref/lora';
import { expectAllClose, randn, seeded } from '../util';
import { testContext } from './harness';

// Ranks 1, odd, 16 (alpaca-lora's) and past 128; C and OC past one pass of the lanes; dropout on and off.
const shapes = [
  { N: 1, C: 1, R: 1, OC: 1, dropout: 0 },
  { N: 5, C: 37, R: 3, OC: 29, dropout: 0 },
  { N: 9, C: 300, R: 16, OC: 261, dropout: 0.1 },
  { N: 4, C: 23, R: 7, OC: 11, dropout: 0.5 },
  { N: 3, C: 41, R: 130, OC: 19, dropout: 0.1 }, // a rank past 128 takes the 256-lane shaders
  // One invocation per row: C a multiple of 4, C and OC up to ROW_MAX_C, R up to 16.
  { N: 67, C: 64, R: 8, OC: 172, dropout: 0.1 },
  { N: 5, C: 172, R: 16, OC: 64, dropout: 0 },
  { N: 3, C: 4, R: 1, OC: 1, dropout: 0.5 },
];

describe('lora', () => {
  test.each(shapes)('forward matches its CPU twin %o', async ({ N, C, R, OC, dropout }) => {
    const ctx = await testContext();
    const rng = seeded(N * 13 + C);
    const out = randn(rng, N * OC), inp = randn(rng, N * C), A = randn(rng, R * C), Bw = randn(rng, OC * R);
    const scale = 16 / R, seed = 77 + N;
    const outGpu = ctx.upload(out), uGpu = ctx.upload(randn(rng, N * R));
    loraForward(ctx, outGpu, uGpu, ctx.upload(inp), ctx.upload(A), ctx.upload(Bw), scale, N, C, R, OC, dropout, seed);
    const u = new Float32Array(N * R);
    loraForwardRef(out, u, inp, A, Bw, scale, N, C, R, OC, dropout, seed);
    expectAllClose(await ctx.readF32(uGpu), u, { atol: 1e-4, rtol: 1e-4 });
    expectAllClose(await ctx.readF32(outGpu), out, { atol: 1e-4, rtol: 1e-4 });
  });

  test.each(shapes)('backward matches its CPU twin %o', async ({ N, C, R, OC, dropout }) => {
    const ctx = await testContext();
    const rng = seeded(N * 17 + C);
    const inp = randn(rng, N * C), u = randn(rng, N * R), A = randn(rng, R * C), Bw = randn(rng, OC * R), dout = randn(rng, N * OC);
    const dinp = randn(rng, N * C), dA = randn(rng, R * C), dB = randn(rng, OC * R);
    const scale = 16 / R, seed = 91 + N;
    const dinpGpu = ctx.upload(dinp), dAGpu = ctx.upload(dA), dBGpu = ctx.upload(dB), duGpu = ctx.upload(randn(rng, N * R));
    loraBackward(ctx, dinpGpu, dAGpu, dBGpu, duGpu, ctx.upload(dout), ctx.upload(inp), ctx.upload(u), ctx.upload(A), ctx.upload(Bw), scale, N, C, R, OC, dropout, seed);
    const du = new Float32Array(N * R);
    loraBackwardRef(dinp, dA, dB, du, dout, inp, u, A, Bw, scale, N, C, R, OC, dropout, seed);
    expectAllClose(await ctx.readF32(duGpu), du, { atol: 1e-4, rtol: 1e-4 });
    expectAllClose(await ctx.readF32(dinpGpu), dinp, { atol: 1e-4, rtol: 1e-4 });
    expectAllClose(await ctx.readF32(dAGpu), dA, { atol: 1e-4, rtol: 1e-4 });
    expectAllClose(await ctx.readF32(dBGpu), dB, { atol: 1e-4, rtol: 1e-4 });
  });
});
