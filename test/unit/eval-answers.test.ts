import 'fake-indexeddb/auto';
import { afterEach, describe, expect, test } from 'vitest';
import { openStudioDB } from '../../src/data/db';
import { answerRows, apiJobSpec, checkNumber, AnswerJob, localRequests, originText, SettingError, type ApiSettings } from '../../src/eval/answers';
import { alignAnswers, answersCover, type EvalItem } from '../../src/eval/eval-set';
import { TeacherClient } from '../../src/teacher/client';
import { IdbJobStore } from '../../src/teacher/idb-store';
import { JobRunner, newJob } from '../../src/teacher/runner';
import { plainQuestion } from '../../src/teacher/prompts';
import { alpacaPrompt } from '../../src/tokenizer/templates';
import { fakeAnswer, promptKey, startFakeOpenAI, type FakeOpenAI, type FakeOptions } from '../fakes/openai-server';

const KEY = 'sk-test-answers-5e6f7a8b9c0d';
let server: FakeOpenAI | undefined;
let dbCount = 0;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

const items: EvalItem[] = [
  { id: '1', category: 'generic', instruction: 'How can I improve my time management skills?', input: '' },
  { id: '2', category: 'coding', instruction: 'Fix this function.', input: 'def f(x): return x +' },
  { id: '3', category: 'math', instruction: 'What is 7 times 8?', input: '' },
  { id: '4', category: 'fermi', instruction: 'How many piano tuners are there in Chicago?', input: '' },
  { id: '5', category: 'writing', instruction: 'Write a haiku about rain.', input: '' },
];

const sampling = { temperature: 0.7, topK: 40, topP: 0.9, seed: 42 };

describe('local answer requests', () => {
  test('batches of four, one sample each, formatted by the engine with the instance input', () => {
    const calls = localRequests(items, { mode: 'alpaca', sampling, maxNewTokens: 16 });
    expect(calls.map((c) => c.items.map((q) => q.id))).toEqual([['1', '2', '3', '4'], ['5']]);
    expect(calls[0].request).toEqual({
      prompts: items.slice(0, 4).map((q) => ({ text: q.instruction, input: q.input, mode: 'alpaca' })),
      n: 1,
      maxNewTokens: 16,
      sampling,
    });
    expect(localRequests(items, { mode: 'chat', sampling, maxNewTokens: 8 }, 2).map((c) => c.request.prompts.length)).toEqual([2, 2, 1]);
  });

  test('answer rows carry the question id and align back to the eval set', () => {
    const rows = answerRows(items, items.map((q) => ` answer to ${q.id}\n`), 'tiny');
    expect(rows[1]).toEqual({ id: '2', instruction: 'Fix this function.', input: 'def f(x): return x +', text: 'answer to 2', model: 'tiny' });
    expect([...alignAnswers(items, [...rows].reverse(), 'generated')]).toEqual(items.map((q) => [q.id, `answer to ${q.id}`]));
    expect(() => answerRows(items, ['only one'], 'tiny')).toThrow('1 answers for 5 questions');
  });

  test('an answer set covers an eval set only when it answers every question (what the judge pickers offer)', () => {
    const rows = answerRows(items, items.map((q) => `answer to ${q.id}`), 'tiny');
    expect(answersCover(items, rows)).toBe(true);
    expect(answersCover(items, rows.slice(0, 4))).toBe(false);
    expect(answersCover(items.slice(0, 2), rows)).toBe(true);
    expect(answersCover([], rows)).toBe(false);
  });

  test('a question with an instance input is one message: instruction, blank line, input', () => {
    expect(plainQuestion(items[0].instruction, items[0].input)).toBe(items[0].instruction);
    expect(plainQuestion(items[1].instruction, items[1].input)).toBe('Fix this function.\n\ndef f(x): return x +');
  });
});

describe('provenance and settings', () => {
  test('the list line says which model wrote a set and how it sampled', () => {
    expect(originText({ kind: 'file', name: 'vicuna-gpt4.jsonl' })).toBe('vicuna-gpt4.jsonl');
    expect(originText({ kind: 'local', model: 'SmolLM2-135M', adapter: 'alpaca-lora (step 200)', temperature: 0.7, top_p: 0.9, top_k: 40, seed: 42, max_new_tokens: 256 }))
      .toBe('local SmolLM2-135M + alpaca-lora (step 200) · T 0.7 · top-p 0.9 · top-k 40 · seed 42 · 256 new tokens');
    expect(originText({ kind: 'local', model: 'tiny', temperature: 0, top_p: 1, top_k: 0, seed: 1, max_new_tokens: 4 })).toMatch(/^local tiny · T 0 ·/);
    expect(originText({ kind: 'api', baseURL: 'http://127.0.0.1:9/v1', model: 'gpt-4', temperature: 0.7, top_p: 0.9, max_tokens: 512 }))
      .toBe('gpt-4 at http://127.0.0.1:9/v1 · T 0.7 · top-p 0.9 · max 512 tokens');
  });

  test('numbers out of range or not whole say the range', () => {
    expect(checkNumber('Top-p', 0.9, 0, 1)).toBe(0.9);
    expect(() => checkNumber('Top-p', 1.5, 0, 1)).toThrow(new SettingError('Top-p must be a number from 0 to 1.'));
    expect(() => checkNumber('Seed', 1.5, 0, 10, true)).toThrow('Seed must be a whole number from 0 to 10.');
    expect(() => checkNumber('Temperature', Number.NaN, 0, 2)).toThrow(SettingError);
  });
});

async function setup(fake: FakeOptions = {}) {
  server = await startFakeOpenAI({ apiKey: KEY, ...fake });
  const cache = new IdbJobStore(await openStudioDB(`eval-answers-test-${process.pid}-${++dbCount}`));
  return { server, cache, client: new TeacherClient({ baseURL: server.url, apiKey: KEY, timeoutMs: 10_000 }) };
}

const settings = (baseURL: string): ApiSettings => ({
  baseURL, model: 'gpt-4', params: { temperature: 0.7, top_p: 0.9, max_tokens: 512 },
  concurrency: 3, maxAttempts: 12, budgetUSD: null, prices: { 'gpt-4': { input: 30, output: 60 } },
});

const plainAnswer = (q: EvalItem) => fakeAnswer([{ role: 'user', content: plainQuestion(q.instruction, q.input) }]);

async function runAnswers(client: TeacherClient, cache: IdbJobStore, baseURL: string) {
  const run = AnswerJob.create(apiJobSpec('answers', settings(baseURL)), items, cache);
  const runner = new JobRunner(run.job.id, { store: run.store, chat: client, baseDelayMs: 5, maxDelayMs: 50 });
  const job = await runner.run();
  return { run, runner, job };
}

describe('API answers through the job runner', () => {
  test('each question reaches the endpoint as a plain user message, through faults and retries', async () => {
    const { server, cache, client } = await setup({ faultRate: 0.4, seed: 7, retryAfterMs: 10, slowMs: 30 });
    const { run, runner, job } = await runAnswers(client, cache, server.url);
    expect(job.status).toBe('done');
    expect(await run.answers()).toEqual(items.map(plainAnswer));
    expect(runner.progress().retries).toBeGreaterThan(0);
    expect([...server.completed.keys()].sort()).toEqual(items.map((q) => promptKey([{ role: 'user', content: plainQuestion(q.instruction, q.input) }])).sort());
    expect(server.duplicates()).toEqual([]);
    expect(JSON.stringify(job)).not.toContain(KEY);
  });

  test('a second run is answered from the cache; a teacher job on the same text is not', async () => {
    const { server, cache, client } = await setup();
    await runAnswers(client, cache, server.url);
    expect(server.completedTotal).toBe(items.length);
    const again = await runAnswers(client, cache, server.url);
    expect(await again.run.answers()).toEqual(items.map(plainAnswer));
    expect(again.runner.progress().cacheHits).toBe(items.length);
    expect(server.completedTotal).toBe(items.length);

    // The same rows as teacher data keep the Alpaca template and their own cache entries.
    const spec = apiJobSpec('teacher data', settings(server.url));
    const { job, items: rows } = newJob(spec, items.map((q) => ({ instruction: q.instruction, input: q.input })));
    await cache.createJob(job, rows);
    await new JobRunner(job.id, { store: cache, chat: client }).run();
    expect(server.completedTotal).toBe(2 * items.length);
    const outputs = (await cache.loadItems(job.id)).map((r) => r.output);
    expect(outputs).toEqual(items.map((q) => fakeAnswer([{ role: 'user', content: alpacaPrompt(q.instruction, q.input) }])));
  });

  test('a rejected key fails the run with a redacted message and leaves the questions unanswered', async () => {
    const { server, cache } = await setup();
    const wrong = 'sk-wrong-key-000111222333';
    const client = new TeacherClient({ baseURL: server.url, apiKey: wrong, timeoutMs: 10_000 });
    const { run, job } = await runAnswers(client, cache, server.url);
    expect(job.status).toBe('failed');
    expect(job.error).toBeTruthy();
    expect(job.error).not.toContain(wrong);
    expect(await run.answers()).toEqual(items.map(() => null));
  });
});
