// Reward-model reranking as pure functions: ranking by reward with stable ties, the paper's ranking groups as
// answer sets (B = sample 1, R1..Rn by reward), their names and tags, the reward bars, and the Reports side that
// collects judged groups into Figure 4's ranking charts beside the paper's numbers.
import { describe, expect, test } from 'vitest';
import { originText } from '../../src/eval/answers';
import type { EvalItem } from '../../src/eval/eval-set';
import type { Verdict } from '../../src/eval/judge';
import { PAPER_JUDGE_FIGURES, paperRankingFigureFor } from '../../src/eval/paper';
import {
  buildGroupSets, formatReward, groupSetName, parseGroupSetName, rankByReward, rankingOf, ranksOf, rewardBars, RankingError,
  type QuestionSamples, type RankingTag,
} from '../../src/eval/ranking';
import { judgeRows, rankingCsv, rankingFigures } from '../../src/eval/reports';
import type { AnswerOrigin, AnswerSetRecord, JudgeRunRecord } from '../../src/eval/store';

describe('rankByReward', () => {
  test('best first', () => {
    expect(rankByReward([0.1, 2.5, -1, 0.7])).toEqual([1, 3, 0, 2]);
    expect(ranksOf([0.1, 2.5, -1, 0.7])).toEqual([3, 1, 4, 2]);
  });

  test('ties keep generation order, so a constant reward leaves the baseline first', () => {
    expect(rankByReward([1, 1, 1, 1, 1])).toEqual([0, 1, 2, 3, 4]);
    expect(rankByReward([0, 3, 0, 3, -2])).toEqual([1, 3, 0, 2, 4]);
    expect(rankByReward([-0, 0])).toEqual([0, 1]);
  });

  test('infinities sort as numbers; NaN goes last, after -Infinity', () => {
    expect(rankByReward([NaN, -Infinity, 1, Infinity, NaN])).toEqual([3, 2, 1, 0, 4]);
  });

  test('nothing and one', () => {
    expect(rankByReward([])).toEqual([]);
    expect(rankByReward([-5])).toEqual([0]);
  });
});

describe('group names', () => {
  test('baseline and ranks read back', () => {
    expect(groupSetName('SmolLM2 + sft', 'B')).toBe('SmolLM2 + sft baseline (B)');
    expect(groupSetName('SmolLM2 + sft', 3)).toBe('SmolLM2 + sft R3');
    expect(parseGroupSetName('SmolLM2 + sft baseline (B)')).toEqual({ model: 'SmolLM2 + sft', group: 'B' });
    expect(parseGroupSetName('my R2 model R12')).toEqual({ model: 'my R2 model', group: 12 });
    expect(parseGroupSetName('GPT-4')).toBeNull();
    expect(parseGroupSetName('model R0')).toBeNull();
    expect(parseGroupSetName('R1')).toBeNull();
  });
});

const items: EvalItem[] = [
  { id: 'q1', category: 'generic', instruction: 'Say hi.', input: '' },
  { id: 'q2', category: 'math', instruction: 'Add.', input: '2 + 2' },
];

describe('buildGroupSets', () => {
  const questions: QuestionSamples[] = [
    { texts: [' hi ', 'hello', 'hey'], rewards: [0.5, 1.5, -0.25] },
    { texts: ['4', 'four', '5'], rewards: [2, 2, 3] },
  ];

  test('B is sample 1 of every question; Rk is each question\'s k-th best, ties in generation order', () => {
    const sets = buildGroupSets(items, questions, 'tiny');
    expect(sets.map((s) => [s.group, s.name])).toEqual([
      ['B', 'tiny baseline (B)'], [1, 'tiny R1'], [2, 'tiny R2'], [3, 'tiny R3'],
    ]);
    const texts = sets.map((s) => s.rows.map((r) => r.text));
    expect(texts).toEqual([['hi', '4'], ['hello', '5'], ['hi', '4'], ['hey', 'four']]);
    expect(sets.map((s) => s.rows.map((r) => r.reward))).toEqual([[0.5, 2], [1.5, 3], [0.5, 2], [-0.25, 2]]);
    // Rows carry their question, so the judge aligns them by id; the model is the set's name.
    expect(sets[1].rows[1]).toEqual({ id: 'q2', instruction: 'Add.', input: '2 + 2', text: '5', model: 'tiny R1', reward: 3 });
  });

  test('every sample lands in exactly one R group per question', () => {
    const sets = buildGroupSets(items, questions, 'tiny').filter((s) => s.group !== 'B');
    for (const [q, question] of questions.entries()) {
      expect(sets.map((s) => s.rows[q].text).sort()).toEqual(question.texts.map((t) => t.trim()).sort());
    }
  });

  test('n = 1: R1 is the baseline', () => {
    const sets = buildGroupSets(items, [{ texts: ['a'], rewards: [1] }, { texts: ['b'], rewards: [-1] }], 'm');
    expect(sets.map((s) => s.rows.map((r) => r.text))).toEqual([['a', 'b'], ['a', 'b']]);
  });

  test('refuses mismatched counts with what is wrong', () => {
    expect(() => buildGroupSets(items, questions.slice(0, 1), 'm')).toThrow(RankingError);
    expect(() => buildGroupSets(items, [questions[0], { texts: ['x', 'y'], rewards: [1, 2] }], 'm')).toThrow(/question "q2" has 2 samples and 2 rewards; expected 3/);
    expect(() => buildGroupSets(items, [questions[0], { texts: ['x', 'y', 'z'], rewards: [1] }], 'm')).toThrow(/1 rewards/);
    expect(() => buildGroupSets([], [], 'm')).toThrow(/no samples/);
  });
});

describe('reward bars', () => {
  test('lowest a stub, highest full, linear between; equal rewards full; NaN empty', () => {
    expect(rewardBars([-2, 0, 2], 0)).toEqual([0, 0.5, 1]);
    expect(rewardBars([1, 3])).toEqual([0.08, 1]);
    expect(rewardBars([4, 4])).toEqual([1, 1]);
    expect(rewardBars([NaN, 1, 2], 0)).toEqual([0, 0, 1]);
    expect(formatReward(-0.12345)).toBe('−0.123');
    expect(formatReward(2)).toBe('2.000');
  });
});

const local: Extract<AnswerOrigin, { kind: 'local' }> = {
  kind: 'local', model: 'tiny', adapter: 'sft run', temperature: 0.7, top_p: 0.9, top_k: 40, seed: 42, max_new_tokens: 64,
};
const tag = (group: RankingTag['group'], runId = 'rank-1'): RankingTag => ({ runId, group, n: 5, reward: 'rm run (step 30)' });
const set = (id: string, name: string, origin: AnswerOrigin): AnswerSetRecord => ({ id, name, origin, rows: [], createdAt: 0 });

describe('tags', () => {
  test('origin text names the group', () => {
    expect(originText({ ...local, ranking: tag(2) })).toBe('local tiny + sft run · T 0.7 · top-p 0.9 · top-k 40 · seed 42 · 64 new tokens · rank 2 of 5 by rm run (step 30)');
    expect(originText({ ...local, ranking: tag('B') })).toMatch(/· baseline B \(sample 1 of 5\)$/);
  });

  test('a set is a group by its tag; a deleted one by its label; a plain set never', () => {
    expect(rankingOf(set('a', 'tiny R1', { ...local, ranking: tag(1) }), 'tiny R1')).toEqual({ model: 'tiny', group: 1, runId: 'rank-1' });
    expect(rankingOf(set('a', 'renamed', { ...local, ranking: tag('B') }), 'renamed')).toEqual({ model: 'renamed', group: 'B', runId: 'rank-1' });
    expect(rankingOf(set('a', 'tiny R1', local), 'tiny R1')).toBeNull();
    expect(rankingOf(undefined, 'tiny baseline (B)')).toEqual({ model: 'tiny', group: 'B', runId: null });
    expect(rankingOf(undefined, 'GPT-4')).toBeNull();
  });
});

describe('ranking charts in Reports', () => {
  const verdicts = (a: number, b: number): Verdict[] => [
    { questionId: '1', category: 'generic', first: 'a', text: `${a} ${b}`, points: { a, b }, cached: false },
    { questionId: '1', category: 'generic', first: 'b', text: `${b} ${a}`, points: { a, b }, cached: false },
  ];
  const judged = (id: string, a: AnswerSetRecord, b: AnswerSetRecord, pa: number, pb: number, createdAt = 0): JudgeRunRecord => ({
    id, name: `${a.name} vs ${b.name}`, createdAt, prompt: 'vicuna', model: 'gpt-4', baseURL: 'http://x/v1', evalSetId: 'e',
    answerSets: { a: a.id, b: b.id }, labels: { a: a.name, b: b.name }, verdicts: verdicts(pa, pb),
  });
  const chatgpt = set('c', 'ChatGPT', { kind: 'file', name: 'chatgpt.jsonl' });
  const gpt4 = set('g', 'GPT-4', { kind: 'file', name: 'gpt4.jsonl' });
  const b = set('b', 'tiny baseline (B)', { ...local, ranking: tag('B') });
  const r1 = set('r1', 'tiny R1', { ...local, ranking: tag(1) });
  const r2 = set('r2', 'tiny R2', { ...local, ranking: tag(2) });
  const other = set('o', 'tiny R1', { ...local, ranking: tag(1, 'rank-2') });
  const plain = set('p', 'tiny', local);
  const sets = [chatgpt, gpt4, b, r1, r2, other, plain];

  test('groups per ranking run and opponent, in the paper\'s order, beside the paper\'s chart for that opponent', () => {
    // Newest first, as the store lists them: the newer R1 run against ChatGPT wins over the older one.
    const runs = [
      judged('j5', r1, chatgpt, 9, 8), judged('j1', b, chatgpt, 6, 8), judged('j2', r2, chatgpt, 5, 8), judged('j0', r1, chatgpt, 1, 8),
      judged('j3', gpt4, r1, 9, 7), judged('j4', other, chatgpt, 7, 8), judged('j6', plain, chatgpt, 5, 8),
    ];
    const rows = judgeRows(runs, sets);
    expect(rows.map((r) => r.ranking && `${r.ranking.side}:${r.ranking.group}`)).toEqual(['a:1', 'a:B', 'a:2', 'a:1', 'b:1', 'a:1', null]);
    const figures = rankingFigures(rows);
    expect(figures.map((f) => [f.model, f.opponent, f.paper?.id, f.rows.map((r) => [r.label, r.a, r.b])])).toEqual([
      ['tiny', 'ChatGPT', 'ranked-vs-chatgpt', [['Group 1 (R1)', 9, 8], ['Group 2 (R2)', 5, 8], ['B (one answer)', 6, 8]]],
      // Judged on the B side: the totals are turned round so the group's come first.
      ['tiny', 'GPT-4', 'ranked-vs-gpt4', [['Group 1 (R1)', 7, 9]]],
      ['tiny', 'ChatGPT', 'ranked-vs-chatgpt', [['Group 1 (R1)', 7, 8]]],
    ]);
    expect(figures[0].rows[0].run).toBe('tiny R1 vs ChatGPT');
    // One question: the interval is the point; on the B side it is turned round with the totals.
    expect(figures[0].rows[0].ci).toEqual([9 / 8, 9 / 8]);
    const [low, high] = figures[1].rows[0].ci!;
    expect(low).toBeCloseTo(7 / 9, 12);
    expect(high).toBeCloseTo(7 / 9, 12);
  });

  test('a group whose answer set was deleted is still read from its label', () => {
    const rows = judgeRows([judged('j', r2, chatgpt, 5, 8)], [chatgpt]);
    expect(rankingFigures(rows).map((f) => [f.model, f.rows.map((r) => r.group)])).toEqual([['tiny', [2]]]);
  });

  test('CSV: the user\'s groups, then the paper\'s when asked', () => {
    const figures = rankingFigures(judgeRows([judged('j1', b, chatgpt, 6, 8), judged('j2', r1, chatgpt, 9, 8)], sets));
    const csv = rankingCsv(figures, true).split('\r\n');
    expect(csv[0]).toBe('model,opponent,group,source,a_total,b_total,ratio,run');
    expect(csv.slice(1, 3)).toEqual(['tiny,ChatGPT,R1,run,9,8,1.125,tiny R1 vs ChatGPT', 'tiny,ChatGPT,B,run,6,8,0.75,tiny baseline (B) vs ChatGPT']);
    expect(csv[3]).toBe('LLaMA-GPT4 (7B),ChatGPT,R1,paper,624,667,0.9355,"Figure 4 · LLaMA-GPT4 answers ranked by the reward model, against ChatGPT"');
    expect(csv[8]).toMatch(/^LLaMA-GPT4 \(7B\),ChatGPT,B,paper,609,666.5,0.9137,/);
    expect(csv).toHaveLength(1 + 2 + 6 + 1); // the last line ends in \r\n too
    expect(rankingCsv(figures, false).split('\r\n')).toHaveLength(4);
  });

  test('the paper\'s ranking chart for an opponent', () => {
    expect(paperRankingFigureFor('gpt-3.5-turbo')?.id).toBe('ranked-vs-chatgpt');
    expect(paperRankingFigureFor('ChatGPT answers')?.id).toBe('ranked-vs-chatgpt');
    expect(paperRankingFigureFor('GPT-4')?.id).toBe('ranked-vs-gpt4');
    expect(paperRankingFigureFor('ModelB')).toBeNull();
    // Figure 4a/b as the issue quotes them: B 609 : 666.5 -> R1 624 : 667 against ChatGPT; 606 : 726.5 -> 631 : 722.5 against GPT-4.
    const byId = (id: string) => PAPER_JUDGE_FIGURES.find((f) => f.id === id)!.rows;
    expect(byId('ranked-vs-chatgpt').map((r) => [r.model, r.a, r.b]).filter(([m]) => m === 'Group 1' || String(m).startsWith('B'))).toEqual([['Group 1', 624, 667], ['B (one answer)', 609, 666.5]]);
    expect(byId('ranked-vs-gpt4')[0]).toEqual({ model: 'Group 1', a: 631, b: 722.5 });
  });
});
