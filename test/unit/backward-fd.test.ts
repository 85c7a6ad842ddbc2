// Every backward CPU twin against central finite differences of its forward CPU twin. The scalar checked is
// L = sum(w * y) for a fixed random w, so the backward pass runs with dout = w; each input element is nudged
// in turn. Pure CPU, small odd shapes.
import { describe, expect, test } from 'vitest';
import { attentionForward } from '../../src/ref/attention';
import { attentionBackward } from '../../src/ref/attention_backward';
import { crossentropyBackward, crossentropyForward } from '../../src/ref/crossentropy';
import { embeddingForward } from '../../src/ref/embedding';
import { loraBackward, loraForward } from '../../src/ref/lora';
import { matmulForward } from '../../src/ref/matmul';
import { matmulBackwardInput, matmulBackwardWeight } from '../../src/ref/matmul_backward';
import { rmsnormForward } from '../../src/ref/rmsnorm';
import { rmsnormBackward } from '../../src/ref/rmsnorm_backward';
import { ropeForward } from '../../src/ref/rope';
import { ropeBackward } from '../../src/ref/rope_backward';
import { scatterRows } from '../../src/ref/scatter';
import { swigluForward } from '../../src/ref/swiglu';
import { swigluBackward } from '../../src/ref/swiglu_backward';
import { expectGradient, weightedSum } from '../fd';
import { randn, seeded } from '../util';

describe('backward twins match finite differences of the forward twins', () => {
  test('crossentropy: per-row upstream gradients, masked rows get zero', () => {
    const N = 5, V = 7;
    const rng = seeded(1);
    const logits = randn(rng, N * V, 2);
    const targets = Int32Array.of(3, -100, 0, 6, 2);
    const dlosses = randn(rng, N); // a different weight per row, as seqlogp_backward hands down
    const losses = new Float32Array(N);
    const loss = () => {
      crossentropyForward(losses, logits, targets, N, V);
      return weightedSum(losses, dlosses);
    };
    const dlogits = new Float32Array(N * V).fill(7); // overwritten, not accumulated
    crossentropyBackward(dlogits, logits, targets, dlosses, N, V);
    expect(Array.from(dlogits.subarray(V, 2 * V))).toEqual(new Array(V).fill(0));
    // Masked rows have zero gradient, so count nonzeros over the trained rows only.
    const trainedRows = [0, 2, 3, 4];
    for (const n of trainedRows) {
      const row = logits.subarray(n * V, (n + 1) * V);
      expectGradient(`dlogits row ${n}`, row, dlogits.subarray(n * V, (n + 1) * V), loss);
    }
  });

  test('scatter rows: the backward of gathering rows, zero on rows not gathered', () => {
    const N = 5, C = 3, M = 3;
    const rng = seeded(11);
    const x = randn(rng, N * C), w = randn(rng, M * C);
    const rows = Uint32Array.of(4, 0, 2);
    const gathered = new Float32Array(M * C);
    const loss = () => {
      embeddingForward(gathered, rows, x, M, C);
      return weightedSum(gathered, w);
    };
    const dx = new Float32Array(N * C);
    scatterRows(dx, w, rows, M, C);
    expectGradient('dx', x, dx, loss);
  });

  test.each([
    { N: 3, C: 5, OC: 7, bias: true },
    { N: 1, C: 1, OC: 1, bias: false },
  ])('matmul: dinp and dweight %o', ({ N, C, OC, bias }) => {
    const rng = seeded(2);
    const inp = randn(rng, N * C), weight = randn(rng, OC * C), b = bias ? randn(rng, OC) : null, w = randn(rng, N * OC);
    const out = new Float32Array(N * OC);
    const loss = () => {
      matmulForward(out, inp, weight, b, N, C, OC);
      return weightedSum(out, w);
    };
    const dinp = new Float32Array(N * C), dweight = new Float32Array(OC * C);
    matmulBackwardInput(dinp, w, weight, N, C, OC);
    matmulBackwardWeight(dweight, w, inp, N, C, OC);
    expectGradient('dinp', inp, dinp, loss);
    expectGradient('dweight', weight, dweight, loss);
  });

  test.each([{ N: 3, C: 11 }, { N: 2, C: 1 }])('rmsnorm: dinp %o', ({ N, C }) => {
    const rng = seeded(3);
    const inp = randn(rng, N * C), weight = randn(rng, C), w = randn(rng, N * C);
    const eps = 1e-5;
    const out = new Float32Array(N * C);
    const loss = () => {
      rmsnormForward(out, inp, weight, N, C, eps);
      return weightedSum(out, w);
    };
    const dinp = new Float32Array(N * C);
    rmsnormBackward(dinp, w, inp, weight, N, C, eps);
    // C = 1 makes the output sign(x) * weight: flat almost everywhere, so its gradient is ~0.
    if (C === 1) {
      for (const g of dinp) expect(Math.abs(g)).toBeLessThan(1e-3);
      return;
    }
    expectGradient('dinp', inp, dinp, loss);
  });

  test('rope: dx, rotating back by the negative angle', () => {
    const N = 4, NH = 3, HS = 6, theta = 10000;
    const rng = seeded(4);
    const x = randn(rng, N * NH * HS), w = randn(rng, N * NH * HS);
    const positions = Uint32Array.of(0, 1, 7, 30);
    const y = new Float32Array(x.length);
    const loss = () => {
      y.set(x);
      ropeForward(y, positions, N, NH, HS, theta);
      return weightedSum(y, w);
    };
    const dx = w.slice();
    ropeBackward(dx, positions, N, NH, HS, theta);
    expectGradient('dx', x, dx, loss);
  });

  test('swiglu: dgate and dup', () => {
    const N = 3, H = 5;
    const rng = seeded(5);
    const gate = randn(rng, N * H, 2), up = randn(rng, N * H), w = randn(rng, N * H);
    const out = new Float32Array(N * H);
    const loss = () => {
      swigluForward(out, gate, up, N, H);
      return weightedSum(out, w);
    };
    const dgate = new Float32Array(N * H), dup = new Float32Array(N * H);
    swigluBackward(dgate, dup, w, gate, up, N, H);
    expectGradient('dgate', gate, dgate, loss);
    expectGradient('dup', up, dup, loss);
  });

  test.each([
    { B: 2, T: 5, NH: 4, NKV: 2, HS: 6 }, // grouped-query
    { B: 1, T: 3, NH: 2, NKV: 2, HS: 4 }, // multi-head
    { B: 1, T: 1, NH: 1, NKV: 1, HS: 2 },
  ])('attention: dq, dk, dv %o', ({ B, T, NH, NKV, HS }) => {
    const rng = seeded(6);
    const q = randn(rng, B * T * NH * HS), k = randn(rng, B * T * NKV * HS), v = randn(rng, B * T * NKV * HS);
    const w = randn(rng, B * T * NH * HS);
    const validFrom = new Uint32Array(B);
    const out = new Float32Array(B * T * NH * HS);
    const loss = () => {
      attentionForward(out, q, k, v, validFrom, B, T, NH, NKV, HS, T, 0);
      return weightedSum(out, w);
    };
    const dq = new Float32Array(q.length), dk = new Float32Array(k.length), dv = new Float32Array(v.length);
    const stats = new Float32Array(B * NH * T * 2);
    attentionBackward(dq, dk, dv, stats, w, q, k, v, B, T, NH, NKV, HS);
    if (T > 1) expectGradient('dq', q, dq, loss);
    else for (const g of dq) expect(g).toBeCloseTo(0, 6); // one key: the output is v whatever q is
    if (T > 1) expectGradient('dk', k, dk, loss);
    expectGradient('dv', v, dv, loss);
  });

  test.each([
    { N: 3, C: 7, R: 2, OC: 5, dropout: 0 },
    { N: 4, C: 9, R: 3, OC: 6, dropout: 0.3 }, // a fixed seed makes the mask a constant, so this is linear too
  ])('lora: dinp, dA, dB %o', ({ N, C, R, OC, dropout }) => {
    const rng = seeded(7);
    const inp = randn(rng, N * C), A = randn(rng, R * C), Bw = randn(rng, OC * R), w = randn(rng, N * OC);
    const scale = 16 / R, seed = 1234;
    const out = new Float32Array(N * OC), u = new Float32Array(N * R);
    const loss = () => {
      out.fill(0);
      loraForward(out, u, inp, A, Bw, scale, N, C, R, OC, dropout, seed);
      return weightedSum(out, w);
    };
    loss(); // u for the backward pass
    const dinp = new Float32Array(N * C), dA = new Float32Array(R * C), dB = new Float32Array(OC * R), du = new Float32Array(N * R);
    loraBackward(dinp, dA, dB, du, w, inp, u, A, Bw, scale, N, C, R, OC, dropout, seed);
    expectGradient('dB', Bw, dB, loss);
    expectGradient('dA', A, dA, loss);
    expectGradient('dinp', inp, dinp, loss);
  });
});

describe('backward twins accumulate into their gradients', () => {
  test('a second call adds the same gradient again', () => {
    const N = 3, C = 4, OC = 5, H = 4;
    const rng = seeded(8);
    const inp = randn(rng, N * C), weight = randn(rng, OC * C), dout = randn(rng, N * OC), dc = randn(rng, N * C);
    const twice = (run: (g: Float32Array) => void, size: number) => {
      const once = new Float32Array(size), both = new Float32Array(size);
      run(once);
      run(both);
      run(both);
      return { once, both };
    };
    const cases = [
      twice((g) => matmulBackwardInput(g, dout, weight, N, C, OC), N * C),
      twice((g) => matmulBackwardWeight(g, dout, inp, N, C, OC), OC * C),
      twice((g) => rmsnormBackward(g, dc, inp, weight.subarray(0, C), N, C, 1e-5), N * C),
      twice((g) => swigluBackward(g, new Float32Array(N * H), dc, inp, weight.subarray(0, N * H), N, H), N * H),
    ];
    for (const { once, both } of cases) {
      expect(once.some((g) => g !== 0)).toBe(true);
      for (let i = 0; i < once.length; i++) expect(both[i]).toBeCloseTo(2 * once[i], 5);
    }
  });
});
