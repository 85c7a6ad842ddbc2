import { describe, expect, test } from 'vitest';
import { sampleForward } from '../../src/kernels/sample';
import { sampleForward as sampleForwardRef } from '../../src/ref/sample';
import { randInt, randn, seeded } from '../util';
import { testContext } from './harness';

async function sampleOnGpu(logits: Float32Array, seeds: Uint32Array, B: number, V: number, step: number, temperature: number, topK: number, topP: number) {
  const ctx = await testContext();
  const out = ctx.buffer(B * 4);
  sampleForward(ctx, out, ctx.upload(logits), ctx.upload(seeds), B, V, step, temperature, topK, topP);
  return ctx.readU32(out);
}

function sampleOnCpu(logits: Float32Array, seeds: Uint32Array, B: number, V: number, step: number, temperature: number, topK: number, topP: number) {
  const out = new Uint32Array(B);
  sampleForwardRef(out, logits, seeds, B, V, step, temperature, topK, topP);
  return out;
}

describe('sample_forward', () => {
  test('greedy picks the argmax, the lowest index on ties', async () => {
    const V = 1001;
    const logits = randn(seeded(3), 3 * V);
    logits[V + 10] = 50;
    logits[V + 900] = 50;
    const ids = await sampleOnGpu(logits, new Uint32Array(3), 3, V, 0, 0, 0, 1);
    expect(ids).toEqual(sampleOnCpu(logits, new Uint32Array(3), 3, V, 0, 0, 0, 1));
    expect(ids[1]).toBe(10);
  });

  const settings = [
    { temperature: 1, topK: 0, topP: 1 },
    { temperature: 0.7, topK: 40, topP: 1 },
    { temperature: 1.3, topK: 0, topP: 0.9 },
    { temperature: 0.9, topK: 50, topP: 0.95 },
  ];
  test.each(settings)('matches its CPU twin on random rows %o', async ({ temperature, topK, topP }) => {
    const B = 37, V = 4999;
    const rng = seeded(B + topK);
    const logits = randn(rng, B * V, 3);
    const seeds = randInt(rng, B, 2 ** 32);
    const gpu = await sampleOnGpu(logits, seeds, B, V, 5, temperature, topK, topP);
    const cpu = sampleOnCpu(logits, seeds, B, V, 5, temperature, topK, topP);
    // exp() differs in the last bits between GPU and JS; a draw landing on a boundary may differ.
    const same = gpu.filter((id, b) => id === cpu[b]).length;
    expect(same).toBeGreaterThanOrEqual(B - 1);
  });

  test('many seeds reproduce the filtered distribution; top-k and top-p exclude tokens', async () => {
    const V = 6;
    const row = Float32Array.from([2, 1, 0.5, 0, -1, -3]);
    const B = 1000;
    const logits = new Float32Array(B * V);
    for (let b = 0; b < B; b++) logits.set(row, b * V);
    const seeds = Uint32Array.from({ length: B }, (_, b) => b * 7919 + 1);
    const counts = (ids: Uint32Array) => Array.from({ length: V }, (_, v) => ids.filter((id) => id === v).length / B);

    const weights = Array.from(row, Math.exp);
    const total = weights.reduce((a, b) => a + b, 0);
    const full = counts(await sampleOnGpu(logits, seeds, B, V, 0, 1, 0, 1));
    full.forEach((p, v) => expect(Math.abs(p - weights[v] / total)).toBeLessThan(0.05));

    const top2 = counts(await sampleOnGpu(logits, seeds, B, V, 0, 1, 2, 1));
    expect(top2.slice(2).every((p) => p === 0)).toBe(true);
    expect(Math.abs(top2[0] - weights[0] / (weights[0] + weights[1]))).toBeLessThan(0.05);

    // p(0) = 0.59, p(0) + p(1) = 0.81: top-p 0.7 keeps exactly tokens 0 and 1.
    const nucleus = counts(await sampleOnGpu(logits, seeds, B, V, 0, 1, 0, 0.7));
    expect(nucleus.slice(2).every((p) => p === 0)).toBe(true);
    expect(nucleus[1]).toBeGreaterThan(0.1);
  });
});
