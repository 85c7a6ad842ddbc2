import { describe, expect, test } from 'vitest';
import type { Verdict } from '../../src/eval/judge';
import { PAPER_FIGURE6 } from '../../src/eval/paper';
import { judgeCategoryCsv, judgeCsv, judgeJson, judgeRows, rougeCsv, rougeRows } from '../../src/eval/reports';
import type { JudgeRunRecord, RougeRunRecord } from '../../src/eval/store';

const verdict = (questionId: string, category: string, first: 'a' | 'b', a: number, b: number): Verdict => ({
  questionId, category, first, text: `${a} ${b}`, points: { a, b }, cached: false,
});

const run: JudgeRunRecord = {
  id: 'r1', name: 'LoRA vs GPT-4', createdAt: 1, prompt: 'vicuna', model: 'gpt-4', baseURL: 'http://x/v1', evalSetId: 'e',
  answerSets: { a: 'x', b: 'y' }, labels: { a: 'SmolLM2 + LoRA', b: 'GPT-4' },
  verdicts: [verdict('1', 'generic', 'a', 7, 9), verdict('1', 'generic', 'b', 6, 9), verdict('2', 'math', 'a', 3, 10), verdict('2', 'math', 'b', 2, 10)],
};

const rougeRun: RougeRunRecord = {
  id: 'g1', name: 'base, "quoted"', createdAt: 1, stem: true, cjk: false,
  report: {
    items: [], mean_f: 0.25,
    bins: { '0-2': { n: 2, mean_f: 0.5 }, '3-5': { n: 0, mean_f: null }, '6-10': { n: 1, mean_f: 0.123456 }, '>10': { n: 0, mean_f: null } },
  },
};

describe('report tables', () => {
  test('judge: totals, orders and categories as CSV and JSON', () => {
    const rows = judgeRows([run]);
    expect(judgeCsv(rows).split('\r\n')[1]).toBe('LoRA vs GPT-4,SmolLM2 + LoRA,GPT-4,gpt-4,vicuna,2,9,19,0.4737,10,19,8,19,0,0,2,0,0');
    expect(judgeCategoryCsv(rows).split('\r\n').slice(1, 3)).toEqual(['LoRA vs GPT-4,generic,1,6.5,9,0.7222,0,0,1', 'LoRA vs GPT-4,math,1,2.5,10,0.25,0,0,1']);
    const json = JSON.parse(judgeJson(rows));
    expect(json[0]).toMatchObject({ run: 'LoRA vs GPT-4', model_a: 'SmolLM2 + LoRA', model_b: 'GPT-4', a_total: 9, b_total: 19, n: 2 });
  });

  test('ROUGE: the paper series first and marked, then the runs; empty bins stay empty', () => {
    const rows = rougeRows([rougeRun], true);
    expect(rows.map((r) => [r.name, r.source])).toEqual([...PAPER_FIGURE6.map((p) => [p.model, 'paper']), ['base, "quoted"', 'run']]);
    expect(rougeRows([rougeRun], false)).toHaveLength(1);
    const csv = rougeCsv(rows).split('\r\n');
    expect(csv[0]).toBe('series,source,rougeL 0-2,n 0-2,rougeL 3-5,n 3-5,rougeL 6-10,n 6-10,rougeL >10,n >10,rougeL all,options');
    expect(csv[1].startsWith('LLaMA-GPT4 (7B),paper,0.3171,,0.2961,,0.3903,,0.4119,,0.3447,')).toBe(true);
    expect(csv[4]).toBe('"base, ""quoted""",run,0.5,2,,0,0.1235,1,,0,0.25,stem');
  });
});
