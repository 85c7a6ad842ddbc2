import { describe, expect, test } from 'vitest';
import { mulberry32 } from '../../src/data/split';
import type { Verdict } from '../../src/eval/judge';
import {
  answerLength, bootstrapInterval, firstPositionWinRate, judgeStats, lengthControlledWinRate, positionConsistency, questionVerdicts,
  relativeScore, winRate, type QuestionVerdict,
} from '../../src/eval/judge-stats';

const v = (questionId: string, first: 'a' | 'b', points: { a: number; b: number } | null): Verdict => ({
  questionId, category: 'generic', first, text: points ? `${points.a} ${points.b}` : 'no idea', points, cached: false,
});

/** A question with A's and B's points in each order. */
const q = (id: string, aFirst: [number, number], bFirst: [number, number], length: { a: number; b: number } | null = null): QuestionVerdict => {
  const [only] = questionVerdicts([v(id, 'a', { a: aFirst[0], b: aFirst[1] }), v(id, 'b', { a: bFirst[0], b: bFirst[1] })]);
  return { ...only, length };
};

describe('per-question verdicts', () => {
  test('outcomes per question; inconsistent when the orders disagree; questions missing an order are left out', () => {
    const qs = questionVerdicts([
      v('1', 'a', { a: 8, b: 6 }), v('1', 'b', { a: 7, b: 5 }), // A in both orders
      v('2', 'a', { a: 5, b: 9 }), v('2', 'b', { a: 6, b: 8 }), // B in both
      v('3', 'a', { a: 7, b: 7 }), v('3', 'b', { a: 6, b: 6 }), // tie in both
      v('4', 'a', { a: 9, b: 6 }), v('4', 'b', { a: 6, b: 9 }), // the first shown wins each time
      v('5', 'a', { a: 8, b: 6 }), v('5', 'b', null), // unparsed once
    ], { 1: { a: 10, b: 3 } });
    expect(qs.map((x) => [x.question_id, x.outcome])).toEqual([['1', 'a'], ['2', 'b'], ['3', 'tie'], ['4', 'inconsistent']]);
    expect(qs[0]).toEqual({ question_id: '1', category: 'generic', a_first: { a: 8, b: 6 }, b_first: { a: 7, b: 5 }, outcome: 'a', length: { a: 10, b: 3 } });
    expect(qs[1].length).toBeNull();
  });

  test('win rate counts ties and inconsistent questions as half a win', () => {
    const qs = [q('1', [8, 6], [7, 5]), q('2', [5, 9], [6, 8]), q('3', [7, 7], [6, 6]), q('4', [9, 6], [6, 9])];
    expect(winRate(qs)).toBe((1 + 0 + 0.5 + 0.5) / 4);
    expect(relativeScore(qs)).toBeCloseTo((7.5 + 5.5 + 6.5 + 7.5) / (5.5 + 8.5 + 6.5 + 7.5), 12);
    expect(winRate([])).toBeNull();
  });

  test('answer length: word tokens, a Chinese character each', () => {
    expect(answerLength('Plan your day, then sleep.')).toBe(5);
    expect(answerLength('制定计划')).toBe(4);
  });
});

describe('position consistency', () => {
  test('hand-made verdicts: the share with one winner in both orders, and the first position win rate', () => {
    const qs = [
      q('1', [8, 6], [7, 5]), // A both times: consistent; first shown wins once (A first), loses once
      q('2', [9, 6], [6, 9]), // first shown wins both times: inconsistent
      q('3', [9, 6], [7, 8]), // first shown wins both times: inconsistent
      q('4', [7, 7], [6, 6]), // tie both times: consistent; half each
    ];
    expect(positionConsistency(qs)).toBe(2 / 4);
    expect(firstPositionWinRate(qs)).toBe((1 + 0 + 1 + 1 + 1 + 1 + 0.5 + 0.5) / 8);
  });

  test('a judge without position bias: consistency 1, first position half the wins', () => {
    const qs = [q('1', [8, 6], [8, 6]), q('2', [5, 9], [5, 9])];
    expect(positionConsistency(qs)).toBe(1);
    expect(firstPositionWinRate(qs)).toBe(0.5);
  });
});

/** n questions judged the same in both orders, A's and B's points drawn at random (seeded). */
function randomQuestions(n: number, seed: number): QuestionVerdict[] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => {
    const a = 4 + Math.floor(rand() * 6), b = 3 + Math.floor(rand() * 6);
    return q(String(i), [a, b], [a, b]);
  });
}

describe('bootstrap intervals', () => {
  const questions = randomQuestions(80, 7);

  test('contain the point estimate', () => {
    const stats = judgeStats(questions);
    const [rLow, rHigh] = stats.relative_score_ci95!;
    const [wLow, wHigh] = stats.win_rate_ci95!;
    expect(rLow).toBeLessThan(relativeScore(questions)!);
    expect(rHigh).toBeGreaterThan(relativeScore(questions)!);
    expect(wLow).toBeLessThan(winRate(questions)!);
    expect(wHigh).toBeGreaterThan(winRate(questions)!);
    expect(stats.bootstrap).toEqual({ resamples: 1000, seed: 1 });
  });

  test('shrink as questions are added', () => {
    const width = (n: number) => {
      const [low, high] = bootstrapInterval(randomQuestions(n, 7), relativeScore)!;
      return high - low;
    };
    const [w20, w80, w320] = [width(20), width(80), width(320)];
    expect(w80).toBeLessThan(w20);
    expect(w320).toBeLessThan(w80);
    // About 1 / sqrt(n): four times the questions, half the width.
    expect(w320 / w80).toBeGreaterThan(0.35);
    expect(w320 / w80).toBeLessThan(0.7);
  });

  test('identical for the same seed, different for another', () => {
    const one = bootstrapInterval(questions, winRate, { seed: 3, resamples: 500 });
    expect(bootstrapInterval(questions, winRate, { seed: 3, resamples: 500 })).toEqual(one);
    expect(bootstrapInterval(questions, winRate, { seed: 4, resamples: 500 })).not.toEqual(one);
  });

  test('no questions: no interval', () => {
    expect(judgeStats([])).toMatchObject({ relative_score_ci95: null, win_rate_ci95: null, position_consistency: null, lc_win_rate: null });
  });
});

describe('length-controlled win rate', () => {
  /**
   * A judge that prefers the longer answer, in the form AlpacaEval 2 assumes: P(A wins) = sigmoid(skill + 2 · tanh(d / sd(d))),
   * d the length difference, on questions where A writes the longer answer with probability `aLonger`.
   */
  function lengthBiased(skill: number, aLonger: number, seed: number, n = 2000): QuestionVerdict[] {
    const rand = mulberry32(seed);
    const lengths = Array.from({ length: n }, () => {
      const longer = 100 + Math.floor(rand() * 150), shorter = 40 + Math.floor(rand() * 60);
      return rand() < aLonger ? { a: longer, b: shorter } : { a: shorter, b: longer };
    });
    const d = lengths.map((l) => l.a - l.b);
    const mean = d.reduce((s, x) => s + x, 0) / n;
    const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / n);
    return lengths.map((length, i) => {
      const pA = 1 / (1 + Math.exp(-(skill + 2 * Math.tanh(d[i] / sd))));
      const points: [number, number] = rand() < pA ? [8, 6] : [6, 8];
      return q(String(i), points, points, length);
    });
  }

  test.each([[0, 0.5], [0.8, 1 / (1 + Math.exp(-0.8))]])('the raw win rate moves with length, the length-controlled rate does not (skill %d)', (skill, expected) => {
    const longA = lengthBiased(skill, 0.8, 11), shortA = lengthBiased(skill, 0.2, 12);
    expect(winRate(longA)! - winRate(shortA)!).toBeGreaterThan(0.3);
    const [lcLong, lcShort] = [lengthControlledWinRate(longA)!, lengthControlledWinRate(shortA)!];
    expect(Math.abs(lcLong.lc_win_rate - expected)).toBeLessThan(0.04);
    expect(Math.abs(lcShort.lc_win_rate - expected)).toBeLessThan(0.04);
    expect(lcLong.length_coefficient).toBeGreaterThan(1.5);
    expect(lcShort.length_coefficient).toBeGreaterThan(1.5);
  });

  test('a better model stays better once length is controlled; equal lengths leave the raw rate', () => {
    const better = Array.from({ length: 40 }, (_, i) => q(String(i), i % 4 ? [8, 6] : [6, 8], i % 4 ? [8, 6] : [6, 8], { a: 50, b: 50 }));
    const lc = lengthControlledWinRate(better)!;
    expect(lc.length_coefficient).toBe(0);
    expect(lc.lc_win_rate).toBeCloseTo(0.75, 3);
  });

  test('separated by length alone: the fit stays finite', () => {
    const qs = Array.from({ length: 20 }, (_, i) => q(String(i), i % 2 ? [8, 6] : [6, 8], i % 2 ? [8, 6] : [6, 8], { a: i % 2 ? 90 : 30, b: 60 }));
    const lc = lengthControlledWinRate(qs)!;
    expect(Number.isFinite(lc.length_coefficient)).toBe(true);
    expect(lc.lc_win_rate).toBeCloseTo(0.5, 2);
  });

  test('without lengths for every question there is no length-controlled rate', () => {
    expect(lengthControlledWinRate([q('1', [8, 6], [8, 6], { a: 3, b: 4 }), q('2', [8, 6], [8, 6])])).toBeNull();
  });
});
