import { describe, expect, test } from 'vitest';
import type { EvalItem } from '../../src/eval/eval-set';
import { judgeRequest } from '../../src/eval/judge-prompts';
import type { JudgeRunRecord } from '../../src/eval/store';
import { batchLine, parseCustomId } from '../../src/teacher/batch';
import { judgeBatchFiles, teacherBatchFiles } from '../../src/teacher/batch-export';
import { answerRequest, translationRequest } from '../../src/teacher/prompts';
import { PAPER_PARAMS, type JobItem, type JobRecord, type JobSpec } from '../../src/teacher/types';

const spec: JobSpec = {
  name: 'alpaca answers', baseURL: 'http://127.0.0.1:9/v1', lang: 'en', mode: 'batch',
  teacher: { model: 'gpt-4', params: PAPER_PARAMS }, concurrency: 4, maxAttempts: 3, budgetUSD: null, prices: {}, source: { name: 'rows' },
};
const job = (over: Partial<JobSpec> = {}): JobRecord => ({ id: 'j', spec: { ...spec, ...over }, status: 'done', total: 3, createdAt: 1, updatedAt: 1 });
const item = (index: number, over: Partial<JobItem> = {}): JobItem => ({
  jobId: 'j', index, instruction: `Question ${index}?`, input: index === 1 ? 'context' : '', status: 'pending', attempts: 0, tokensIn: 0, tokensOut: 0, cost: 0, updatedAt: 0, ...over,
});
const parse = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l));

describe('teacher jobs as Batch files', () => {
  test('every row, answered or not, goes out as the request the studio sends, joined back by custom_id', () => {
    const items = [item(0), item(1, { status: 'done', output: 'an answer' }), item(2)];
    const [file, ...rest] = teacherBatchFiles(job(), items);
    expect(rest).toEqual([]);
    expect(file.name).toBe('teacher-alpaca-answers.jsonl');
    expect(file.text).toBe(items.map((it) => batchLine(`row-${it.index}-answer`, answerRequest(spec, it.instruction, it.input))).join(''));
    const lines = parse(file.text);
    expect(lines.map((l) => parseCustomId(l.custom_id))).toEqual([0, 1, 2].map((index) => ({ index, step: 'answer' })));
    expect(lines[0]).toMatchObject({ method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4', temperature: 1, top_p: 1, max_tokens: 512 } });
  });

  test('Chinese mode asks for the missing translation first, and for the answer once translated', () => {
    const zh = job({ lang: 'zh', translator: { model: 'gpt-3.5-turbo', params: PAPER_PARAMS } });
    const lines = parse(teacherBatchFiles(zh, [item(0), item(1, { translation: { instruction: '问题?', input: '上下文' } })])[0].text);
    expect(lines[0].custom_id).toBe('row-0-translate-instruction');
    expect(lines[0].body.messages).toEqual(translationRequest(zh.spec, 'Question 0?').messages);
    expect(lines[1].custom_id).toBe('row-1-answer');
    expect(lines[1].body.messages).toEqual(answerRequest(zh.spec, '问题?', '上下文').messages);
  });

  test('files split at the request limit, in order', () => {
    const files = teacherBatchFiles(job(), [0, 1, 2, 3, 4].map((i) => item(i)), { maxRequests: 2, maxBytes: 1e6 });
    expect(files.map((f) => f.name)).toEqual(['teacher-alpaca-answers-1.jsonl', 'teacher-alpaca-answers-2.jsonl', 'teacher-alpaca-answers-3.jsonl']);
    expect(files.flatMap((f) => parse(f.text).map((l) => l.custom_id))).toEqual([0, 1, 2, 3, 4].map((i) => `row-${i}-answer`));
  });
});

describe('judge runs as Batch files', () => {
  const items: EvalItem[] = [{ id: '1', category: 'generic', instruction: 'Plan a trip.', input: '' }, { id: '2', category: 'math', instruction: 'Add 2 and 2.', input: '' }];
  const run: JudgeRunRecord = {
    id: 'r', name: 'tuned vs base', createdAt: 1, prompt: 'vicuna', model: 'gpt-4', baseURL: 'http://127.0.0.1:9/v1', evalSetId: 'e',
    answerSets: { a: 'A', b: 'B' }, labels: { a: 'tuned', b: 'base' }, verdicts: [],
  };
  const answers = { a: new Map([['1', 'Go to Rome.'], ['2', '4']]), b: new Map([['1', 'Stay home.'], ['2', '5']]) };

  test('both orders of every question, with the reviewer prompt the in-app judge sends', () => {
    const [file] = judgeBatchFiles(run, items, answers);
    const lines = parse(file.text);
    expect(lines.map((l) => l.custom_id)).toEqual(['1-a', '1-b', '2-a', '2-b']);
    expect(lines[1].body.messages).toEqual(judgeRequest('vicuna', 'gpt-4', items[0], 'Stay home.', 'Go to Rome.').messages);
    expect(lines[2].body.messages).toEqual(judgeRequest('vicuna', 'gpt-4', items[1], '4', '5').messages);
  });

  test('a question without an answer is named', () => {
    expect(() => judgeBatchFiles(run, items, { a: answers.a, b: new Map([['1', 'x']]) })).toThrow(/question 2/);
  });
});
