// The feedback job: GPT-4-LLM's prompt word for word, the score parser, grouping responses by prompt, and the
// job on the runner against the fake endpoint with faults: every response rated once, pairs from different
// scores, ties dropped and counted, unreadable verdicts surfaced (never a 0) and retried, Batch API mode.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, test } from 'vitest';
import { openStudioDB } from '../../src/data/db';
import { exportRows } from '../../src/data/export';
import { parseDataset } from '../../src/data/formats';
import type { Row } from '../../src/data/types';
import type { AnswerRow, EvalItem } from '../../src/eval/eval-set';
import { TeacherClient } from '../../src/teacher/client';
import {
  candidatesFromAnswerSets, candidatesFromRows, feedbackResults, onlyQuestions, pairsHistogram, parseFeedbackScore, planFeedback,
  type FeedbackCandidate,
} from '../../src/teacher/feedback';
import { IdbJobStore } from '../../src/teacher/idb-store';
import { FEEDBACK_PARAMS, feedbackPrompt, feedbackRequest } from '../../src/teacher/prompts';
import { JobRunner, newJob, requeue, type RunnerOptions } from '../../src/teacher/runner';
import type { JobSpec } from '../../src/teacher/types';
import { fakeAnswer, startFakeOpenAI, type FakeOpenAI, type FakeOptions } from '../fakes/openai-server';

const KEY = 'sk-feedback-test-0a1b2c3d4e5f6a7b';
let server: FakeOpenAI | undefined;
let dbCount = 0;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('the GPT-4-LLM feedback prompt', () => {
  test('is the text the authors published in GPT-4-LLM issue #8, whitespace included', () => {
    expect(feedbackPrompt('Name a fruit.', 'An apple.')).toBe(
      '### Instruction \n    \nName a fruit.\n    \n### Response \n    \nAn apple.\n    \n### End of Response \n    \n'
      + 'We would like to request your feedback on the performance of AI assistant in response to the user question displayed above. '
      + 'Please rate the helpfulness, relevance, accuracy, level of details of their responses. Each assistant receives an overall '
      + 'score on a scale of 1 to 10, where a higher score indicates better overall performance. Please first output a single line '
      + 'containing value indicating the scores. In the subsequent line, please provide a comprehensive explanation of your '
      + 'evaluation, avoiding any potential bias.',
    );
  });

  test('fills in one pass, so placeholders inside user text stay as written', () => {
    const prompt = feedbackPrompt('Echo {Response}', 'I said {instruction}');
    expect(prompt).toContain('\nEcho {Response}\n');
    expect(prompt).toContain('\nI said {instruction}\n');
  });

  test('the request: one user message, the instance input after the instruction, the job sampling', () => {
    const spec = feedbackSpec('http://x/v1');
    const { job, items } = newJob(spec, [{ instruction: 'Translate', input: 'bonjour', rates: { group: 0, response: 'hello', uses: [{ slot: 0, source: 'm' }] } }]);
    const request = feedbackRequest(job.spec, items[0]);
    expect(request.model).toBe('gpt-4');
    expect(request.params).toEqual(FEEDBACK_PARAMS);
    expect(request.messages).toEqual([{ role: 'user', content: feedbackPrompt('Translate\n\nbonjour', 'hello') }]);
  });
});

describe('reading a score', () => {
  test.each([
    ['8', 8],
    ['8\n\nThe response is accurate and detailed.', 8],
    ['Score: 8/10', 8],
    ['8.5', 8.5],
    ['**9**\nGreat.', 9],
    ['10/10', 10],
    ['1', 1],
    ['Score: 7.5 / 10\nIt would be a 9/10 with an example.', 7.5],
    ['Rating: 9 (out of 10)', 9],
    ['I would rate this response an 8 out of 10.', 8],
    ['Assistant 1: 6', 6],
    ['Overall score on a scale of 1 to 10: 7', 7],
    ['8 - it covers 3 of the 4 points', 8],
    ['8. Great response.', 8],
    ['The assistant deserves a score of 6 because it addresses 2 of the 3 points.', 6],
    ['Score:\n4\nThe answer misses the point.', 4],
    ['The response to "list 3 fruits" is correct and complete, and it reads well throughout.\nScore: 6', 6],
  ])('%j reads %d', (text, score) => {
    expect(parseFeedbackScore(text)).toBe(score);
  });

  test.each([
    '', 'N/A', 'I cannot rate this response.\nIt does not address the question.',
    '0', '11', 'Score: 0/10', '8 9', '7, 8',
    '1. The response is accurate and gives 3 examples.\n2. It is concise.',
    'It could be a 6/10 or a 7/10, depending on taste.',
  ])('%j is unreadable (null, never 0)', (text) => {
    expect(parseFeedbackScore(text)).toBeNull();
  });
});

describe('what to rate', () => {
  test('a dataset gives its comparison responses, its pairs and its outputs, each with its source', () => {
    const rows: Row[] = [
      { instruction: 'Q1', input: '', output: 'b', responses: [{ response: 'a', score: 3, source: 'gpt4' }, { response: 'b', score: 9, source: 'davinci' }] },
      { instruction: 'Q2', input: 'ctx', output: 'yes', chosen: 'yes', rejected: 'no' },
      { instruction: 'Q3', input: '', output: 'out', meta: { generatedBy: { model: 'gpt-4o', temperature: 1, top_p: 1, max_tokens: 512 } } },
      { instruction: 'Q4', input: '', output: 'plain' },
    ];
    expect(candidatesFromRows(rows, 'my set')).toEqual([
      { instruction: 'Q1', input: '', response: 'a', source: 'gpt4' },
      { instruction: 'Q1', input: '', response: 'b', source: 'davinci' },
      { instruction: 'Q2', input: 'ctx', response: 'yes', source: 'chosen' },
      { instruction: 'Q2', input: 'ctx', response: 'no', source: 'rejected' },
      { instruction: 'Q3', input: '', response: 'out', source: 'gpt-4o' },
      { instruction: 'Q4', input: '', response: 'plain', source: 'my set' },
    ]);
  });

  test('answer sets for one eval set give one response per set to every question, matched by id or text', () => {
    const items: EvalItem[] = [
      { id: '1', category: '', instruction: 'Q1', input: '' },
      { id: '2', category: '', instruction: 'Q2', input: 'x' },
    ];
    const byId: AnswerRow[] = [
      { id: '2', instruction: null, input: '', text: 'A2', model: null },
      { id: '1', instruction: null, input: '', text: 'A1', model: null },
    ];
    const byText: AnswerRow[] = [
      { id: null, instruction: 'Q1', input: '', text: 'B1', model: null },
      { id: null, instruction: 'Q2', input: 'x', text: 'B2', model: null },
    ];
    expect(candidatesFromAnswerSets(items, [{ name: 'A', rows: byId }, { name: 'B', rows: byText }])).toEqual([
      { instruction: 'Q1', input: '', response: 'A1', source: 'A' },
      { instruction: 'Q1', input: '', response: 'B1', source: 'B' },
      { instruction: 'Q2', input: 'x', response: 'A2', source: 'A' },
      { instruction: 'Q2', input: 'x', response: 'B2', source: 'B' },
    ]);
    expect(() => candidatesFromAnswerSets(items, [{ name: 'short', rows: byId.slice(0, 1) }])).toThrow(/answer set “short”: 1 of 2 questions have no answer/);
    const dataset = candidatesFromRows([{ instruction: 'Q2', input: 'x', output: 'D2' }, { instruction: 'other', input: '', output: 'D9' }], 'data');
    expect(onlyQuestions(dataset, items)).toEqual({ kept: [dataset[0]], dropped: 1 });
  });

  test('responses are grouped by prompt; a text given by several sources is asked about once; empty ones are left out', () => {
    const c = (instruction: string, response: string, source: string): FeedbackCandidate => ({ instruction, input: '', response, source });
    const plan = planFeedback([
      c('Q1', 'same', 'A'), c('Q2', 'only', 'A'), c(' Q1 ', 'other', 'B'), c('Q1', 'same', 'C'), c('Q1', '  ', 'D'), c('Q2', 'same', 'B'),
    ]);
    expect(plan).toMatchObject({ prompts: 2, responses: 5, empty: 1, single: 0, sources: ['A', 'B', 'C'] });
    expect(plan.rows.map((r) => r.rates)).toEqual([
      { group: 0, response: 'same', uses: [{ slot: 0, source: 'A' }, { slot: 2, source: 'C' }] },
      { group: 1, response: 'only', uses: [{ slot: 0, source: 'A' }] },
      { group: 0, response: 'other', uses: [{ slot: 1, source: 'B' }] },
      { group: 1, response: 'same', uses: [{ slot: 1, source: 'B' }] },
    ]);
    expect(planFeedback([c('Q', 'x', 'A')]).single).toBe(1);
  });
});

describe('scores into comparison rows and pairs', () => {
  test('every two responses with different scores make a pair, higher chosen; ties dropped and counted; unreadable never counts', () => {
    const plan = planFeedback([
      { instruction: 'Q1', input: 'in', response: 'r-a', source: 'A' },
      { instruction: 'Q1', input: 'in', response: 'r-b', source: 'B' },
      { instruction: 'Q1', input: 'in', response: 'r-c', source: 'C' },
      { instruction: 'Q1', input: 'in', response: 'r-d', source: 'D' },
      { instruction: 'Q2', input: '', response: 'r-e', source: 'A' },
      { instruction: 'Q2', input: '', response: 'r-f', source: 'B' },
    ]);
    const { items } = newJob(feedbackSpec('http://x/v1'), plan.rows);
    const verdicts = ['8\nGood.', '5', '8 out of 10', 'I cannot rate this.', '7', 'Score: 7'];
    items.forEach((item, i) => Object.assign(item, { status: 'done', output: verdicts[i] }));
    const r = feedbackResults(items);
    // Q1: a=8, b=5, c=8, d unreadable -> pairs (a,b), (c,b); tie (a,c). Q2: e=7, f=7 -> tie.
    expect(r.pairs).toEqual([
      { instruction: 'Q1', input: 'in', output: 'r-a', chosen: 'r-a', rejected: 'r-b' },
      { instruction: 'Q1', input: 'in', output: 'r-c', chosen: 'r-c', rejected: 'r-b' },
    ]);
    expect(r.ties).toBe(2);
    expect(r.pairsPerPrompt).toEqual([2, 0]);
    expect(pairsHistogram(r.pairsPerPrompt)).toEqual([1, 0, 1]);
    expect(r.scored).toBe(5);
    expect(r.unparsed).toEqual([{ index: 3, instruction: 'Q1', input: 'in', response: 'r-d', sources: ['D'], verdict: 'I cannot rate this.' }]);
    expect(r.rows[0]).toEqual({
      instruction: 'Q1', input: 'in', output: 'r-a',
      responses: [{ response: 'r-a', score: 8, source: 'A' }, { response: 'r-b', score: 5, source: 'B' }, { response: 'r-c', score: 8, source: 'C' }],
    });
    const a = r.distribution.bySource.find((s) => s.source === 'A')!;
    expect(r.distribution.scores).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(a.counts).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 0, 0]);
    expect(a.mean).toBe(7.5);
    expect(r.distribution.bySource.map((s) => s.source)).toEqual(['A', 'B', 'C']);

    // The comparison rows export as comparison_data_v2 and read back as the same rows; pairs as {prompt, chosen, rejected}.
    const file = exportRows(r.rows, 'comparison-json', 'scores');
    const back = parseDataset(file.text);
    expect(back.format).toBe('comparison');
    expect(JSON.parse(file.text)[0]).toEqual({
      user_input: 'Q1\n\nin',
      responses_and_scores: [{ response: 'r-a', score: 8, source: 'A' }, { response: 'r-b', score: 5, source: 'B' }, { response: 'r-c', score: 8, source: 'C' }],
    });
    expect(back.rows[1].responses).toEqual(r.rows[1].responses);
    expect(exportRows(r.pairs, 'pairs-jsonl', 'p').text.split('\n')[0]).toBe(JSON.stringify({ prompt: 'Q1\n\nin', chosen: 'r-a', rejected: 'r-b' }));
  });

  test('half scores get their own column; a text shared by two sources scores for both', () => {
    const plan = planFeedback([
      { instruction: 'Q', input: '', response: 'same', source: 'A' },
      { instruction: 'Q', input: '', response: 'same', source: 'B' },
      { instruction: 'Q', input: '', response: 'diff', source: 'C' },
    ]);
    const { items } = newJob(feedbackSpec('http://x/v1'), plan.rows);
    Object.assign(items[0], { status: 'done', output: '8.5' });
    Object.assign(items[1], { status: 'done', output: '3' });
    const r = feedbackResults(items);
    expect(r.distribution.scores).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 8.5, 9, 10]);
    expect(r.rows[0].responses!.map((x) => [x.source, x.score])).toEqual([['A', 8.5], ['B', 8.5], ['C', 3]]);
    expect(r.pairs).toHaveLength(2);
    expect(r.ties).toBe(1);
  });
});

function feedbackSpec(baseURL: string, over: Partial<JobSpec> = {}): JobSpec {
  return {
    name: 'feedback test', baseURL, lang: 'en', mode: 'online', prompt: 'feedback',
    teacher: { model: 'gpt-4', params: FEEDBACK_PARAMS },
    concurrency: 8, maxAttempts: 12, budgetUSD: null,
    prices: { 'gpt-4': { input: 30, output: 60 } },
    source: { name: 'test' },
    ...over,
  };
}

async function setup(fake: FakeOptions = {}) {
  server = await startFakeOpenAI({ apiKey: KEY, ...fake });
  const store = new IdbJobStore(await openStudioDB(`feedback-test-${process.pid}-${++dbCount}`));
  const client = new TeacherClient({ baseURL: server.url, apiKey: KEY, timeoutMs: 10_000 });
  return { server, store, client };
}

const fast: Partial<RunnerOptions> = { baseDelayMs: 5, maxDelayMs: 50 };

/** P prompts, K sources: response k of prompt p asks the fake for a known score; some tie, a few are unreadable. */
function candidates(P: number, K: number): { list: FeedbackCandidate[]; score: (p: number, k: number) => number | null } {
  const score = (p: number, k: number) => (p % 17 === 5 && k === 0 ? null : 1 + ((p * 3 + k * k * 2) % 10));
  const list: FeedbackCandidate[] = [];
  for (let p = 0; p < P; p++) {
    for (let k = 0; k < K; k++) {
      const s = score(p, k);
      list.push({ instruction: `Prompt ${p}`, input: p % 3 ? '' : `input ${p}`, response: `Response ${k} to ${p} [[score:${s ?? 'none'}]]`, source: `model-${k}` });
    }
  }
  return { list, score };
}

describe('the feedback job on the runner, against the fake endpoint', () => {
  test('with 20% faults: every response rated exactly once, pairs formed, ties counted, unreadable verdicts surfaced', async () => {
    const { server, store, client } = await setup({ faultRate: 0.2, seed: 5, slowMs: 100, retryAfterMs: 20 });
    const P = 60, K = 4;
    const { list, score } = candidates(P, K);
    const plan = planFeedback(list);
    expect(plan.rows).toHaveLength(P * K);
    const { job, items } = newJob(feedbackSpec(server.url, { concurrency: 12 }), plan.rows);
    await store.createJob(job, items);
    expect((await new JobRunner(job.id, { store, chat: client, ...fast }).run()).status).toBe('done');
    for (const kind of ['rate_limit', 'server_error', 'slow', 'drop', 'malformed'] as const) expect(server.faults[kind]).toBeGreaterThan(0);
    expect(server.duplicates()).toEqual([]);
    expect(server.completedTotal).toBe(P * K);

    const r = feedbackResults(await store.loadItems(job.id));
    let pairs = 0, ties = 0;
    const unreadable: number[] = [];
    for (let p = 0; p < P; p++) {
      const got = Array.from({ length: K }, (_, k) => score(p, k)).filter((s): s is number => s !== null);
      if (got.length < K) unreadable.push(p);
      for (let i = 0; i < got.length; i++) for (let j = i + 1; j < got.length; j++) got[i] === got[j] ? ties++ : pairs++;
    }
    expect(ties).toBeGreaterThan(0);
    expect(r.pairs).toHaveLength(pairs);
    expect(r.ties).toBe(ties);
    expect(r.unparsed.map((u) => u.instruction)).toEqual(unreadable.map((p) => `Prompt ${p}`));
    expect(r.scored).toBe(P * K - unreadable.length);
    for (const pair of r.pairs) {
      const s = (text: string) => Number(/\[\[score:(\d+)\]\]/.exec(text)![1]);
      expect(s(pair.chosen!)).toBeGreaterThan(s(pair.rejected!));
    }
    // An unreadable verdict is left out of its prompt's responses: never a 0.
    const row = r.rows.find((x) => x.instruction === `Prompt ${unreadable[0]}`)!;
    expect(row.responses).toHaveLength(K - 1);
    expect(row.responses!.every((x) => x.score >= 1)).toBe(true);
  });

  test('an unreadable verdict is asked again (bypassing the cache) and then counts; a rerun of the job pays nothing', async () => {
    const { server, store, client } = await setup();
    const plan = planFeedback([
      { instruction: 'Q', input: '', response: 'first [[score:none]]', source: 'A' },
      { instruction: 'Q', input: '', response: 'second [[score:4]]', source: 'B' },
    ]);
    const spec = feedbackSpec(server.url);
    const { job, items } = newJob(spec, plan.rows);
    await store.createJob(job, items);
    await new JobRunner(job.id, { store, chat: client, ...fast }).run();
    const before = feedbackResults(await store.loadItems(job.id));
    expect(before.unparsed).toHaveLength(1);
    expect(before.pairs).toEqual([]);
    expect(server.completedTotal).toBe(2);

    server.options = { ...server.options, answer: (_m, usual) => (usual.startsWith('I am unable') ? '9\nOn second thought, fine.' : usual) };
    expect(await requeue(store, job.id, before.unparsed.map((u) => u.index), true)).toBe(1);
    expect((await new JobRunner(job.id, { store, chat: client, ...fast }).run()).status).toBe('done');
    const after = feedbackResults(await store.loadItems(job.id));
    expect(after.unparsed).toEqual([]);
    expect(after.pairs).toEqual([{ instruction: 'Q', input: '', output: 'first [[score:none]]', chosen: 'first [[score:none]]', rejected: 'second [[score:4]]' }]);
    expect(server.completedTotal).toBe(3);

    // The same job again comes from the cache, with the retried verdict.
    const again = newJob(spec, plan.rows);
    await store.createJob(again.job, again.items);
    const runner = new JobRunner(again.job.id, { store, chat: client, ...fast });
    await runner.run();
    expect(runner.progress()).toMatchObject({ done: 2, requests: 0, cacheHits: 2 });
    expect(feedbackResults(await store.loadItems(again.job.id)).pairs).toHaveLength(1);
  });

  test('Batch API mode rates every response once and joins verdicts back on custom_id', async () => {
    const { server, store, client } = await setup({ batchPolls: 2, batchErrorRate: 0.1, seed: 9 });
    const { list } = candidates(12, 3);
    const plan = planFeedback(list);
    const { job, items } = newJob(feedbackSpec(server.url, { mode: 'batch', pollMs: 1 }), plan.rows);
    await store.createJob(job, items);
    const done = await new JobRunner(job.id, { store, chat: client, batch: client, ...fast }).run();
    expect(done.status).toBe('done');
    expect(server.duplicates()).toEqual([]);
    expect(server.completedTotal).toBe(36);
    const r = feedbackResults(await store.loadItems(job.id));
    expect(r.scored + r.unparsed.length).toBe(36);
    expect(r.failed + r.pending).toBe(0);
  });

  test('the fake answers feedback prompts with the asked score', () => {
    expect(fakeAnswer([{ role: 'user', content: feedbackPrompt('Q', 'R [[score:7]]') }])).toMatch(/^7\n/);
    expect(parseFeedbackScore(fakeAnswer([{ role: 'user', content: feedbackPrompt('Q', 'R') }]))).not.toBeNull();
  });
});
