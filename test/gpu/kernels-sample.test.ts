import { describe, expect, test } from 'vitest';
import { NON_FINITE_LOGITS, sampleForward } from '../../src/kernels/sample';
import { sampleForward as sampleForwardRef } from '../../src/ref/sample';
import { randInt, randn, seeded } from '../util';
import { testContext } from './harness';

interface Setting {
  temperature: number;
  topK: number;
  topP: number;
}

async function sampleOnGpu(logits: Float32Array, seeds: Uint32Array, B: number, V: number, step: number, { temperature, topK, topP }: Setting) {
  const ctx = await testContext();
  const out = ctx.buffer(B * 4);
  sampleForward(ctx, out, ctx.upload(logits), ctx.upload(seeds), B, V, step, temperature, topK, topP);
  return ctx.readU32(out);
}

function sampleOnCpu(logits: Float32Array, seeds: Uint32Array, B: number, V: number, step: number, { temperature, topK, topP }: Setting) {
  const out = new Uint32Array(B);
  sampleForwardRef(out, logits, seeds, B, V, step, temperature, topK, topP);
  return out;
}

/** The filtered distribution, computed independently in f64 with a sort: top-k, then top-p within it. */
function filtered(row: ArrayLike<number>, { temperature, topK, topP }: Setting): number[] {
  const V = row.length;
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => row[b] - row[a]);
  const max = row[order[0]];
  const w = Array.from(row, (l) => Math.exp((l - max) / temperature));
  const kth = topK > 0 && topK < V ? row[order[topK - 1]] : -Infinity;
  const inTopK = order.filter((i) => row[i] >= kth);
  const massK = inTopK.reduce((s, i) => s + w[i], 0);
  const kept = new Set<number>();
  let mass = 0;
  for (const i of inTopK) {
    if (mass >= topP * massK && row[i] < row[[...kept].at(-1)!]) break;
    kept.add(i);
    mass += w[i];
  }
  return Array.from({ length: V }, (_, i) => (kept.has(i) ? w[i] / mass : 0));
}

describe('sample_forward', () => {
  test('greedy picks the argmax, the lowest index on ties', async () => {
    const B = 3, V = 1001;
    const logits = randn(seeded(3), B * V);
    logits[V + 900] = logits[V + 10] = 50; // a tie across invocations (10 and 900 are read by different ones)
    logits[2 * V + 3 + 256] = logits[2 * V + 3] = 50; // a tie within one invocation's stride
    const greedy = { temperature: 0, topK: 0, topP: 1 };
    const ids = await sampleOnGpu(logits, new Uint32Array(B), B, V, 0, greedy);
    expect(ids).toEqual(sampleOnCpu(logits, new Uint32Array(B), B, V, 0, greedy));
    expect(ids[1]).toBe(10);
    expect(ids[2]).toBe(3);
  });

  const settings: Setting[] = [
    { temperature: 1, topK: 0, topP: 1 },
    { temperature: 0.7, topK: 40, topP: 1 },
    { temperature: 1.3, topK: 0, topP: 0.9 },
    { temperature: 0.9, topK: 50, topP: 0.95 },
    { temperature: 0.8, topK: 1, topP: 1 },
    { temperature: 1, topK: 5000, topP: 0.5 }, // top-k above V is no limit
  ];
  test.each(settings)('picks the ids of its CPU twin on random rows %o', async (setting) => {
    const B = 24, V = 4999;
    const rng = seeded(B + setting.topK);
    const logits = randn(rng, B * V, 3);
    const seeds = randInt(rng, B, 2 ** 32);
    const gpu = await sampleOnGpu(logits, seeds, B, V, 5, setting);
    expect(gpu).toEqual(sampleOnCpu(logits, seeds, B, V, 5, setting));
  });

  test.each([
    { temperature: 0, topK: 0, topP: 1 },
    { temperature: 0.9, topK: 50, topP: 0.95 },
  ])('a row with a NaN or an infinite logit gets NON_FINITE_LOGITS, as in its CPU twin %o', async (setting) => {
    const B = 5, V = 300; // V > 256: the bad logit may sit in any invocation's stride
    const logits = randn(seeded(21), B * V);
    logits[1 * V + 7] = NaN;
    logits[2 * V + 299] = Infinity;
    logits[3 * V + 150] = -Infinity;
    const seeds = Uint32Array.from([1, 2, 3, 4, 5]);
    const ids = await sampleOnGpu(logits, seeds, B, V, 3, setting);
    expect(ids).toEqual(sampleOnCpu(logits, seeds, B, V, 3, setting));
    expect([...ids.subarray(1, 4)]).toEqual([NON_FINITE_LOGITS, NON_FINITE_LOGITS, NON_FINITE_LOGITS]);
    expect(ids[0]).toBeLessThan(V);
    expect(ids[4]).toBeLessThan(V);
  });

  test('a single-token vocabulary always gives token 0', async () => {
    const ids = await sampleOnGpu(new Float32Array([-4, 0, 7]), Uint32Array.from([1, 2, 3]), 3, 1, 9, { temperature: 1, topK: 0, topP: 0.9 });
    expect(Array.from(ids)).toEqual([0, 0, 0]);
  });

  // 1000 seeds per setting: each kept token's frequency lies within 4.5 standard deviations of its
  // filtered probability, and filtered-out tokens are never drawn.
  test.each([
    { temperature: 1, topK: 0, topP: 1 },
    { temperature: 0.8, topK: 3, topP: 1 },
    { temperature: 1.2, topK: 0, topP: 0.8 },
    { temperature: 1, topK: 5, topP: 0.7 },
  ])('many seeds reproduce the filtered distribution %o', async (setting) => {
    const row = [2, 1, 0.5, 0, -1, -3, 1.5, -0.5];
    const V = row.length, B = 1000;
    const logits = new Float32Array(B * V);
    for (let b = 0; b < B; b++) logits.set(row, b * V);
    const seeds = Uint32Array.from({ length: B }, (_, b) => b);
    const ids = await sampleOnGpu(logits, seeds, B, V, 11, setting);
    expect(ids).toEqual(sampleOnCpu(logits, seeds, B, V, 11, setting));
    const expected = filtered(Float32Array.from(row), setting);
    const excluded = expected.filter((p) => p === 0).length;
    if (setting.topK || setting.topP < 1) expect(excluded).toBeGreaterThan(0); // the filter must bite
    expected.forEach((p, v) => {
      const freq = ids.filter((id) => id === v).length / B;
      if (p === 0) expect(freq, `token ${v} is filtered out`).toBe(0);
      else expect(Math.abs(freq - p), `token ${v}: ${freq} vs ${p}`).toBeLessThan(4.5 * Math.sqrt((p * (1 - p)) / B));
    });
  });
});
