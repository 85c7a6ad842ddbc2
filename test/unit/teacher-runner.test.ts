import 'fake-indexeddb/auto';
import { afterEach, describe, expect, test } from 'vitest';
import { openStudioDB } from '../../src/data/db';
import { exportRows } from '../../src/data/export';
import { TeacherClient } from '../../src/teacher/client';
import { redact, TeacherError } from '../../src/teacher/errors';
import { IdbJobStore } from '../../src/teacher/idb-store';
import { jobRows } from '../../src/teacher/output';
import { ANSWER_IN_CHINESE, TRANSLATE_HEADER } from '../../src/teacher/prompts';
import { JobRunner, newJob, requeue, type RunnerOptions, type SourceRow } from '../../src/teacher/runner';
import { estimateCost, estimateTokens, requestCostBound } from '../../src/teacher/pricing';
import { PAPER_PARAMS, type ChatMessage, type JobSpec } from '../../src/teacher/types';
import { alpacaPrompt } from '../../src/tokenizer/templates';
import { fakeAnswer, promptKey, startFakeOpenAI, type FakeOpenAI, type FakeOptions } from '../fakes/openai-server';

const KEY = 'sk-test-4f9a8b7c6d5e4f3a2b1c';
let server: FakeOpenAI | undefined;
let dbCount = 0;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(fake: FakeOptions = {}, timeoutMs = 10_000) {
  server = await startFakeOpenAI({ apiKey: KEY, ...fake });
  const store = new IdbJobStore(await openStudioDB(`teacher-test-${process.pid}-${++dbCount}`));
  const client = new TeacherClient({ baseURL: server.url, apiKey: KEY, timeoutMs });
  return { server, store, client };
}

function spec(baseURL: string, over: Partial<JobSpec> = {}): JobSpec {
  return {
    name: 'test', baseURL, lang: 'en', mode: 'online',
    teacher: { model: 'gpt-4', params: PAPER_PARAMS },
    concurrency: 8, maxAttempts: 12, budgetUSD: null,
    prices: { 'gpt-4': { input: 30, output: 60 }, 'gpt-3.5-turbo': { input: 0.5, output: 1.5 } },
    source: { name: 'generated' },
    ...over,
  };
}

const sources = (n: number): SourceRow[] =>
  Array.from({ length: n }, (_, i) => ({ instruction: `Instruction ${i}: say something about ${i}.`, input: i % 4 === 0 ? `context ${i}` : '' }));

const englishPrompt = (s: SourceRow) => [{ role: 'user', content: alpacaPrompt(s.instruction, s.input) }];

async function createJob(store: IdbJobStore, jobSpec: JobSpec, rows: SourceRow[]) {
  const { job, items } = newJob(jobSpec, rows);
  await store.createJob(job, items);
  return job.id;
}

const fast: Partial<RunnerOptions> = { baseDelayMs: 5, maxDelayMs: 50 };

describe('job runner against the fake endpoint', () => {
  test('500 instructions with 20% injected faults: exactly one answer per instruction, none paid twice', async () => {
    const { server, store, client } = await setup({ faultRate: 0.2, seed: 3, slowMs: 150, retryAfterMs: 20 });
    const rows = sources(500);
    const id = await createJob(store, spec(server.url, { concurrency: 16 }), rows);
    const job = await new JobRunner(id, { store, chat: client, ...fast }).run();
    expect(job.status).toBe('done');
    const items = await store.loadItems(id);
    expect(items).toHaveLength(500);
    expect(items.every((i) => i.status === 'done')).toBe(true);
    for (const [i, s] of rows.entries()) expect(items[i].output).toBe(fakeAnswer(englishPrompt(s)));
    for (const kind of ['rate_limit', 'server_error', 'slow', 'drop', 'malformed'] as const) expect(server.faults[kind]).toBeGreaterThan(0);
    expect(server.duplicates()).toEqual([]);
    expect(server.completedTotal).toBe(500);
    expect(items.reduce((s, i) => s + i.tokensIn, 0)).toBeGreaterThan(0);
  });

  test('pause, then a new runner resumes: nothing lost, nothing paid twice, reruns come from the cache', async () => {
    const { server, store, client } = await setup({ latencyMs: 5 });
    const rows = sources(80);
    const jobSpec = spec(server.url, { concurrency: 4 });
    const id = await createJob(store, jobSpec, rows);
    const first = new JobRunner(id, {
      store, chat: client, ...fast,
      onItem: () => { if (server.completedTotal >= 20) first.pause(); },
    });
    const paused = await first.run();
    expect(paused.status).toBe('paused');
    const midway = (await store.loadItems(id)).filter((i) => i.status === 'done').length;
    expect(midway).toBeGreaterThanOrEqual(20);
    expect(midway).toBeLessThan(80);
    expect(await new JobRunner(id, { store, chat: client, ...fast }).run()).toMatchObject({ status: 'done' });
    expect(server.duplicates()).toEqual([]);
    expect(server.completedTotal).toBe(80);

    // The same requests in a new job are answered from the cache: the endpoint sees nothing new.
    const again = await createJob(store, jobSpec, rows);
    const runner = new JobRunner(again, { store, chat: client, ...fast });
    expect((await runner.run()).status).toBe('done');
    expect(runner.progress()).toMatchObject({ done: 80, cacheHits: 80, requests: 0, cost: 0 });
    expect(server.completedTotal).toBe(80);
  });

  test('Retry-After is honoured, in seconds or milliseconds, and other failures back off exponentially', async () => {
    const { server, store, client } = await setup({ faultRate: 1, faultKinds: ['rate_limit'], retryAfterMs: 1500, secondsOnly: true });
    const id = await createJob(store, spec(server.url, { concurrency: 1 }), sources(1));
    const slept: number[] = [];
    let t = 1_000_000;
    const sleep = async (ms: number) => {
      slept.push(ms);
      t += ms;
      if (slept.length === 1) server.options = { ...server.options, retryAfterMs: 700, secondsOnly: false };
      if (slept.length === 2) server.options = { ...server.options, faultKinds: ['server_error'] };
      if (slept.length === 4) server.options = { ...server.options, faultRate: 0 };
    };
    const job = await new JobRunner(id, { store, chat: client, sleep, random: () => 0, now: () => t, baseDelayMs: 100 }).run();
    expect(job.status).toBe('done');
    // Retry-After: 2 (1.5 s rounded up to whole seconds), then retry-after-ms: 700, then 500s: 100 * 2^(k-1) / 2.
    expect(slept).toEqual([2000, 700, 200, 400]);
  });

  test('a timeout is retried and the late answer is not counted as paid', async () => {
    const { server, store } = await setup({ faultRate: 1, faultKinds: ['slow'], slowMs: 800 });
    const client = new TeacherClient({ baseURL: server.url, apiKey: KEY, timeoutMs: 200 });
    const id = await createJob(store, spec(server.url, { concurrency: 1 }), sources(1));
    const sleep = async () => { server.options = { ...server.options, faultRate: 0 }; };
    const job = await new JobRunner(id, { store, chat: client, sleep }).run();
    expect(job.status).toBe('done');
    await new Promise((r) => setTimeout(r, 900));
    expect(server.completedTotal).toBe(1);
    expect([...server.received.values()][0]).toBe(2);
  });

  test('a request that can never work fails its row, visibly and retryably', async () => {
    const { server, store, client } = await setup();
    const id = await createJob(store, spec(server.url, { teacher: { model: 'missing-model', params: PAPER_PARAMS } }), sources(3));
    const job = await new JobRunner(id, { store, chat: client, ...fast }).run();
    expect(job.status).toBe('done');
    const items = await store.loadItems(id);
    expect(items.map((i) => i.status)).toEqual(['error', 'error', 'error']);
    expect(items[0].error).toMatch(/check the model name/);
    expect(await requeue(store, id, 'errors')).toBe(3);
    expect((await store.loadItems(id)).map((i) => i.status)).toEqual(['pending', 'pending', 'pending']);
    expect((await store.loadJob(id))!.status).toBe('ready');
  });

  test('a rejected key stops the job and never shows up in an error, a row, the job or an export', async () => {
    const { server, store } = await setup();
    const wrongKey = 'sk-wrong-0123456789abcdefXYZ';
    const client = new TeacherClient({ baseURL: server.url, apiKey: wrongKey });
    const id = await createJob(store, spec(server.url), sources(5));
    const job = await new JobRunner(id, { store, chat: client, ...fast }).run();
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/rejected the API key/);
    const everything = JSON.stringify({ job, items: await store.loadItems(id), cache: await store.db.getAll('requestCache') });
    expect(everything).not.toContain(wrongKey);
    expect(everything).not.toContain(wrongKey.slice(8));
    await expect(client.chat({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }], params: PAPER_PARAMS }))
      .rejects.toSatisfy((e: unknown) => e instanceof TeacherError && e.kind === 'auth' && !e.message.includes(wrongKey.slice(8)));
    // The key travels in the Authorization header and nowhere else.
    expect([...server.authHeaders]).toEqual([`Bearer ${wrongKey}`]);
  });

  test('exports of a finished job hold rows only', async () => {
    const { server, store, client } = await setup();
    const id = await createJob(store, spec(server.url), sources(4));
    await new JobRunner(id, { store, chat: client, ...fast }).run();
    const rows = jobRows((await store.loadJob(id))!.spec, await store.loadItems(id));
    for (const format of ['alpaca-json', 'alpaca-jsonl', 'pairs-jsonl'] as const) {
      expect(exportRows(rows, format, 'x').text).not.toContain(KEY);
    }
    expect(rows[0].meta?.generatedBy).toEqual({ model: 'gpt-4', ...PAPER_PARAMS });
  });

  test('the budget stops the job before the next request could pass it; resuming needs a higher cap, and pays nothing twice', async () => {
    const { server, store, client } = await setup({ latencyMs: 5 });
    // max_tokens 16: a request may cost up to ~45 prompt + 16 answer tokens at gpt-4 prices (~0.0023 USD); each
    // fake answer costs ~40 + 5 tokens (~0.0015 USD).
    const params = { ...PAPER_PARAMS, max_tokens: 16 };
    const rows = sources(60);
    const id = await createJob(store, spec(server.url, { concurrency: 4, budgetUSD: 0.02, teacher: { model: 'gpt-4', params } }), rows);
    const first = new JobRunner(id, { store, chat: client, ...fast });
    const stopped = await first.run();
    expect(stopped.status).toBe('budget');
    const p = first.progress();
    expect(p.cost).toBeLessThanOrEqual(0.02);
    // Stopped only when the next request's bound no longer fit: little of the budget is left unused.
    const next = requestCostBound(stopped.spec.prices, { model: 'gpt-4', messages: englishPrompt(rows[59]) as ChatMessage[], params });
    expect(p.cost + 2 * next).toBeGreaterThan(0.02);
    expect(p.done).toBe(server.completedTotal);
    expect(stopped.error).toMatch(/^Stopped before passing the budget of \$0\.0200: \$0\.0\d{3} spent, and the next request may cost up to \$0\.002\d\. Raise the budget to at least \$0\.02\d\d to go on \(\$0\.\d{4} covers every remaining row at most\), then resume\.$/);

    // Resumed with the same cap: nothing is sent, and the job says again what to raise.
    const again = await new JobRunner(id, { store, chat: client, ...fast }).run();
    expect(again.status).toBe('budget');
    const goOn = (error?: string) => error?.slice(0, error.indexOf(' to go on'));
    expect(goOn(again.error)).toBe(goOn(stopped.error));
    expect(server.completedTotal).toBe(p.done);

    // Raised past the estimate for the rest: it finishes, and no prompt was paid twice.
    const rest = Number(/\(\$([\d.]+) covers/.exec(again.error!)![1]);
    await store.saveJob({ ...again, spec: { ...again.spec, budgetUSD: rest } });
    const resumed = new JobRunner(id, { store, chat: client, ...fast });
    const done = await resumed.run();
    expect(done.status).toBe('done');
    expect(done.error).toBeUndefined();
    expect(resumed.progress().cost).toBeLessThanOrEqual(rest);
    expect(server.completedTotal).toBe(60);
    expect(server.duplicates()).toEqual([]);
  });

  test('cost estimates: prompt tokens, and at most every answer at max_tokens; Chinese rows count their translations', () => {
    expect(estimateTokens('abcdefgh')).toBe(2);
    expect(estimateTokens('你好吗')).toBe(3);
    const s = spec('http://x', { teacher: { model: 'gpt-4', params: { ...PAPER_PARAMS, max_tokens: 100 } } });
    const { items } = newJob(s, [{ instruction: 'Say hi.', input: '' }, { instruction: 'Add.', input: '2 and 3' }]);
    const e = estimateCost(s, items);
    expect(e.requests).toBe(2);
    expect(e.promptUSD).toBeCloseTo((e.promptTokens * 30) / 1e6, 12);
    expect(e.maxUSD).toBeCloseTo((e.promptTokens * 30 + 2 * 100 * 60) / 1e6, 12);
    // Chinese: instruction and non-empty input are translated first (by gpt-3.5-turbo), then answered.
    const zh = spec('http://x', { lang: 'zh', translator: { model: 'gpt-3.5-turbo', params: PAPER_PARAMS } });
    expect(estimateCost(zh, newJob(zh, [{ instruction: 'Say hi.', input: '' }, { instruction: 'Add.', input: '2 and 3' }]).items).requests).toBe(5);
    expect(estimateCost({ ...s, mode: 'batch' }, items).maxUSD).toBeCloseTo(e.maxUSD / 2, 12);
    expect(estimateCost({ ...s, teacher: { ...s.teacher, model: 'mystery' } }, items)).toMatchObject({ maxUSD: 0, unpriced: ['mystery'] });
  });

  test('Chinese mode translates instruction and input, then asks for a Chinese answer, and records both', async () => {
    const { server, store, client } = await setup();
    const rows = sources(6);
    const id = await createJob(store, spec(server.url, { lang: 'zh', translator: { model: 'gpt-3.5-turbo', params: PAPER_PARAMS } }), rows);
    expect((await new JobRunner(id, { store, chat: client, ...fast }).run()).status).toBe('done');
    const items = await store.loadItems(id);
    for (const [i, s] of rows.entries()) {
      const instruction = `【译】${s.instruction}`;
      const input = s.input ? `【译】${s.input}` : '';
      expect(items[i].translation).toEqual({ instruction, input });
      expect(items[i].output).toBe(fakeAnswer([{ role: 'system', content: ANSWER_IN_CHINESE }, { role: 'user', content: alpacaPrompt(instruction, input) }]));
      expect(items[i].output).toMatch(/^回答/);
    }
    // Two translations for rows with input, one without; one answer each. Empty inputs are not sent.
    const translations = [...server.completed.keys()].filter((k) => k.includes(TRANSLATE_HEADER));
    expect(translations).toHaveLength(6 + rows.filter((r) => r.input).length);
    expect(server.completed.has(promptKey([{ role: 'user', content: `${TRANSLATE_HEADER}\n\n` }]))).toBe(false);
    expect(server.completedTotal).toBe(translations.length + 6);
    const out = jobRows((await store.loadJob(id))!.spec, items);
    expect(out[0]).toEqual({
      instruction: `【译】${rows[0].instruction}`, input: `【译】${rows[0].input}`, output: items[0].output,
      meta: { generatedBy: { model: 'gpt-4', ...PAPER_PARAMS, translator: 'gpt-3.5-turbo', original: rows[0] } },
    });
  });
});

describe('redaction', () => {
  test('keys, key-shaped strings and bearer tokens are removed', () => {
    expect(redact(`bad key ${KEY}!`, [KEY])).toBe('bad key [redacted key]!');
    expect(redact('proxy said: sk-proj-abcdefghijklmnop')).toBe('proxy said: sk-pro…[redacted]');
    expect(redact('Authorization: Bearer abc.def-123')).toBe('Authorization: Bearer [redacted]');
  });
});
