// The heads' backward CPU twins (reward, preference loss, sequence log-probs) against central finite
// differences of their forward twins, alone and chained as the reward model and DPO run them. Pure CPU, small
// odd shapes.
import { describe, expect, test } from 'vitest';
import { crossentropyBackward, crossentropyForward } from '../../src/ref/crossentropy';
import { preferenceLossBackward, preferenceLossForward } from '../../src/ref/preference_loss';
import { rewardBackwardInput, rewardBackwardWeight, rewardForward } from '../../src/ref/reward';
import { seqlogpBackward, seqlogpForward } from '../../src/ref/seqlogp';
import { expectGradient, weightedSum } from '../fd';
import { randn, seeded } from '../util';

const sum = (x: Float32Array) => x.reduce((a, b) => a + b, 0);

describe('head backward twins match finite differences of the forward twins', () => {
  test.each([{ M: 3, C: 5 }, { M: 1, C: 1 }])('reward: dhidden and dscore %o', ({ M, C }) => {
    const rng = seeded(21);
    const hidden = randn(rng, M * C), score = randn(rng, C), w = randn(rng, M);
    const rewards = new Float32Array(M);
    const loss = () => {
      rewardForward(rewards, hidden, score, M, C);
      return weightedSum(rewards, w);
    };
    const dhidden = new Float32Array(M * C), dscore = new Float32Array(C);
    rewardBackwardInput(dhidden, w, score, M, C);
    rewardBackwardWeight(dscore, w, hidden, M, C);
    expectGradient('dhidden', hidden, dhidden, loss);
    expectGradient('dscore', score, dscore, loss);
  });

  test.each([
    { name: 'DPO', P: 5, beta: 0.7, withReference: true, withMargins: false },
    { name: 'reward model', P: 3, beta: 1, withReference: false, withMargins: true },
    { name: 'one pair', P: 1, beta: 2, withReference: true, withMargins: true },
  ])('preference loss: dvalues, $name', ({ P, beta, withReference, withMargins }) => {
    const rng = seeded(22 + P);
    const values = randn(rng, 2 * P);
    const reference = withReference ? randn(rng, 2 * P) : new Float32Array(2 * P);
    const margins = withMargins ? randn(rng, P, 0.5) : new Float32Array(P);
    const scale = 1 / P;
    const losses = new Float32Array(P);
    const loss = () => {
      preferenceLossForward(losses, values, reference, margins, beta, P);
      return scale * sum(losses);
    };
    const dvalues = new Float32Array(2 * P).fill(7); // overwritten, not accumulated
    preferenceLossBackward(dvalues, values, reference, margins, beta, scale, P);
    expectGradient('dvalues', values, dvalues, loss);
  });

  test.each([
    { M: 9, S: 4, starts: [0, 3, 3, 8, 9] }, // an empty sequence between two others
    { M: 7, S: 2, starts: [1, 4, 6] }, // rows 0 and 6 belong to no sequence
    { M: 1, S: 1, starts: [0, 1] },
  ])('seqlogp: dlosses %o', ({ M, S, starts: list }) => {
    const rng = seeded(23 + M);
    const starts = Uint32Array.from(list);
    const losses = randn(rng, M), w = randn(rng, S);
    const logps = new Float32Array(S);
    const loss = () => {
      seqlogpForward(logps, losses, starts, S);
      return weightedSum(logps, w);
    };
    const dlosses = new Float32Array(M).fill(7); // overwritten, not accumulated
    seqlogpBackward(dlosses, w, starts, M, S);
    for (let m = 0; m < M; m++) if (m < list[0] || m >= list[S]) expect(dlosses[m]).toBe(0);
    expectGradient('dlosses', losses, dlosses, loss);
  });
});

describe('heads chained as the trainers run them', () => {
  test('DPO: logits -> cross-entropy -> sequence log-probs -> preference loss', () => {
    const P = 2, S = 2 * P, V = 5, beta = 1;
    const starts = Uint32Array.of(0, 2, 5, 6, 9); // chosen 0, chosen 1, rejected 0, rejected 1
    const M = starts[S];
    const rng = seeded(24);
    const logits = randn(rng, M * V, 2);
    const targets = Int32Array.of(1, 4, 0, -100, 2, 3, 3, 1, 0); // one masked row inside a sequence
    const reference = randn(rng, S, 3), margins = new Float32Array(P);
    const scale = 1 / P;
    const losses = new Float32Array(M), logps = new Float32Array(S), pairLosses = new Float32Array(P);
    const loss = () => {
      crossentropyForward(losses, logits, targets, M, V);
      seqlogpForward(logps, losses, starts, S);
      preferenceLossForward(pairLosses, logps, reference, margins, beta, P);
      return scale * sum(pairLosses);
    };
    loss(); // logps for the backward pass
    const dlogps = new Float32Array(S), dlosses = new Float32Array(M), dlogits = new Float32Array(M * V);
    preferenceLossBackward(dlogps, logps, reference, margins, beta, scale, P);
    seqlogpBackward(dlosses, dlogps, starts, M, S);
    crossentropyBackward(dlogits, logits, targets, dlosses, M, V);
    expectGradient('dlogits', logits, dlogits, loss);
  });

  test('reward model: hidden -> reward head -> preference loss with margins', () => {
    const P = 3, M = 2 * P, C = 7;
    const rng = seeded(25);
    const hidden = randn(rng, M * C), score = randn(rng, C, 0.5);
    const reference = new Float32Array(M), margins = randn(rng, P, 0.5);
    const scale = 1 / P;
    const rewards = new Float32Array(M), pairLosses = new Float32Array(P);
    const loss = () => {
      rewardForward(rewards, hidden, score, M, C);
      preferenceLossForward(pairLosses, rewards, reference, margins, 1, P);
      return scale * sum(pairLosses);
    };
    loss(); // rewards for the backward pass
    const drewards = new Float32Array(M), dhidden = new Float32Array(M * C), dscore = new Float32Array(C);
    preferenceLossBackward(drewards, rewards, reference, margins, 1, scale, P);
    rewardBackwardInput(dhidden, drewards, score, M, C);
    rewardBackwardWeight(dscore, drewards, hidden, M, C);
    expectGradient('dhidden', hidden, dhidden, loss);
    expectGradient('dscore', score, dscore, loss);
  });
});

describe('reward backward twins accumulate into their gradients', () => {
  test('a second call adds the same gradient again', () => {
    const M = 3, C = 4;
    const rng = seeded(26);
    const hidden = randn(rng, M * C), score = randn(rng, C), drewards = randn(rng, M);
    const twice = (run: (g: Float32Array) => void, size: number) => {
      const once = new Float32Array(size), both = new Float32Array(size);
      run(once);
      run(both);
      run(both);
      return { once, both };
    };
    for (const { once, both } of [
      twice((g) => rewardBackwardInput(g, drewards, score, M, C), M * C),
      twice((g) => rewardBackwardWeight(g, drewards, hidden, M, C), C),
    ]) {
      expect(once.some((g) => g !== 0)).toBe(true);
      for (let i = 0; i < once.length; i++) expect(both[i]).toBeCloseTo(2 * once[i], 5);
    }
  });
});
