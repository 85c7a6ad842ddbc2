import { describe, expect, test } from 'vitest';
import type { Verdict } from '../../src/eval/judge';
import { PAPER_FIGURE6 } from '../../src/eval/paper';
import { judgeCategoryCsv, judgeCsv, judgeJson, judgeRows, questionsCsv, questionsJson, rougeCsv, rougeRows, runQuestions } from '../../src/eval/reports';
import type { AnswerSetRecord, EvalSetRecord, JudgeRunRecord, RougeRunRecord } from '../../src/eval/store';

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
    // B wins both questions in both orders; resamples of two questions give 6.5 : 9, 9 : 19 or 2.5 : 10. No lengths stored.
    expect(judgeCsv(rows).split('\r\n')[1]).toBe('LoRA vs GPT-4,SmolLM2 + LoRA,GPT-4,gpt-4,vicuna,2,9,19,0.4737,10,19,8,19,0,0,2,0,0,0.25,0.7222,0,0,0,1,0.5,,');
    expect(judgeCategoryCsv(rows).split('\r\n').slice(1, 3)).toEqual(['LoRA vs GPT-4,generic,1,6.5,9,0.7222,0,0,1', 'LoRA vs GPT-4,math,1,2.5,10,0.25,0,0,1']);
    const json = JSON.parse(judgeJson(rows));
    expect(json[0]).toMatchObject({ run: 'LoRA vs GPT-4', model_a: 'SmolLM2 + LoRA', model_b: 'GPT-4', a_total: 9, b_total: 19, n: 2 });
    expect(json[0]).toMatchObject({ win_rate: 0, relative_score_ci95: [0.25, 6.5 / 9], position_consistency: 1, lc_win_rate: null });
  });

  test('per-question table: lengths as recorded, else measured on the stored answer sets; answers beside the points', () => {
    const evalSet: EvalSetRecord = { id: 'e', name: 'q', createdAt: 1, items: ['1', '2'].map((id) => ({ id, category: 'generic', instruction: `Q${id}`, input: '' })) };
    const row = (id: string, text: string) => ({ id, instruction: null, input: '', text, model: null });
    const sets: AnswerSetRecord[] = [
      { id: 'x', name: 'A', origin: { kind: 'file', name: 'a' }, createdAt: 1, rows: [row('1', 'one two, three'), row('2', '好的')] },
      { id: 'y', name: 'B', origin: { kind: 'file', name: 'b' }, createdAt: 1, rows: [row('1', 'one'), row('2', 'Say "hi",\nthen go')] },
    ];
    const measured = runQuestions(run, [evalSet], sets);
    expect(measured.map((q) => q.length)).toEqual([{ a: 3, b: 1 }, { a: 2, b: 4 }]);
    expect(runQuestions({ ...run, answerLengths: { 1: { a: 9, b: 9 }, 2: { a: 1, b: 1 } } }, [evalSet], sets).map((q) => q.length)).toEqual([{ a: 9, b: 9 }, { a: 1, b: 1 }]);
    expect(runQuestions(run).map((q) => q.length)).toEqual([null, null]);

    const answers = { a: new Map([['1', 'one two, three'], ['2', '好的']]), b: new Map([['1', 'one'], ['2', 'Say "hi",\nthen go']]) };
    expect(questionsCsv(measured, answers).split('\r\n').slice(0, 3)).toEqual([
      'question_id,category,a_first_a,a_first_b,b_first_a,b_first_b,outcome,length_a,length_b,answer_a,answer_b',
      '1,generic,7,9,6,9,b,3,1,"one two, three",one',
      '2,math,3,10,2,10,b,2,4,好的,"Say ""hi"",\nthen go"',
    ]);
    expect(JSON.parse(questionsJson(measured, null))[1]).toEqual({
      question_id: '2', category: 'math', a_first: { a: 3, b: 10 }, b_first: { a: 2, b: 10 }, outcome: 'b', length: { a: 2, b: 4 }, answer_a: null, answer_b: null,
    });
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
