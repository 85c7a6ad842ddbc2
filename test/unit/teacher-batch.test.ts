import 'fake-indexeddb/auto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { openStudioDB } from '../../src/data/db';
import { batchLine, customId, parseCustomId, runBatches, splitLines } from '../../src/teacher/batch';
import { TeacherClient } from '../../src/teacher/client';
import { IdbJobStore } from '../../src/teacher/idb-store';
import { JournalStore } from '../../src/teacher/journal';
import { JobRunner, newJob, type SourceRow } from '../../src/teacher/runner';
import { PAPER_PARAMS, type JobSpec } from '../../src/teacher/types';
import { alpacaPrompt } from '../../src/tokenizer/templates';
import { fakeAnswer, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server';

const KEY = 'sk-batch-test-key-0123456789';
let server: FakeOpenAI | undefined;
let dbCount = 0;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function spec(baseURL: string, over: Partial<JobSpec> = {}): JobSpec {
  return {
    name: 'batch', baseURL, lang: 'en', mode: 'batch',
    teacher: { model: 'gpt-4', params: PAPER_PARAMS },
    concurrency: 4, maxAttempts: 6, budgetUSD: null,
    prices: { 'gpt-4': { input: 30, output: 60 } },
    source: { name: 'generated' }, pollMs: 1,
    ...over,
  };
}

const sources = (n: number): SourceRow[] => Array.from({ length: n }, (_, i) => ({ instruction: `Batch instruction ${i}`, input: i % 3 ? '' : `in ${i}` }));

describe('batch files', () => {
  test('split at the request limit and the byte limit, order kept', () => {
    const lines = Array.from({ length: 23 }, (_, i) => `${'x'.repeat(i % 5)}${i}\n`);
    const byCount = splitLines(lines, { maxRequests: 10, maxBytes: 1e9 });
    expect(byCount.map((f) => f.lines.length)).toEqual([10, 10, 3]);
    expect(byCount.flatMap((f) => f.lines)).toEqual(lines);
    const byBytes = splitLines(lines, { maxRequests: 1000, maxBytes: 40 });
    expect(byBytes.every((f) => f.bytes <= 40)).toBe(true);
    expect(byBytes.flatMap((f) => f.lines)).toEqual(lines);
    expect(byBytes.map((f) => f.bytes)).toEqual(byBytes.map((f) => f.lines.reduce((s, l) => s + Buffer.byteLength(l), 0)));
    // Multi-byte text counts in bytes, not characters.
    expect(splitLines(['译译译\n', '译\n'], { maxRequests: 10, maxBytes: 10 }).map((f) => f.lines.length)).toEqual([1, 1]);
    expect(() => splitLines(['x'.repeat(50)], { maxRequests: 10, maxBytes: 10 })).toThrow(RangeError);
  });

  test('custom ids round-trip and lines carry the paper params', () => {
    expect(parseCustomId(customId(41, 'translate-input'))).toEqual({ index: 41, step: 'translate-input' });
    expect(parseCustomId('other-3')).toBeNull();
    const line = JSON.parse(batchLine('row-0-answer', { model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }], params: PAPER_PARAMS }));
    expect(line).toEqual({
      custom_id: 'row-0-answer', method: 'POST', url: '/v1/chat/completions',
      body: { model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }], temperature: 1, top_p: 1, max_tokens: 512 },
    });
  });
});

describe('batch mode against the fake endpoint', () => {
  test('upload, create, poll, join on custom_id; failed lines go out again; nothing paid twice', async () => {
    server = await startFakeOpenAI({ apiKey: KEY, batchErrorRate: 0.15, seed: 9 });
    const store = new IdbJobStore(await openStudioDB(`batch-${process.pid}-${++dbCount}`));
    const client = new TeacherClient({ baseURL: server.url, apiKey: KEY });
    const rows = sources(120);
    const { job, items } = newJob(spec(server.url), rows);
    await store.createJob(job, items);
    const runner = new JobRunner(job.id, { store, chat: client, batch: client });
    // Small files, so one round needs several.
    const done = await runner.run();
    expect(done.status).toBe('done');
    const out = await store.loadItems(job.id);
    for (const [i, s] of rows.entries()) expect(out[i].output).toBe(fakeAnswer([{ role: 'user', content: alpacaPrompt(s.instruction, s.input) }]));
    expect(server.duplicates()).toEqual([]);
    expect(server.completedTotal).toBe(120);
    const rounds = done.batches!;
    expect(rounds.length).toBeGreaterThan(1); // the error-file rows went out again
    expect(rounds.every((r) => r.files.every((f) => f.imported && f.batchId && f.inputFileId))).toBe(true);
    expect(rounds[0].files[0].count).toBe(120);
    // Batch prices are half.
    const cost = out.reduce((s, i) => s + i.cost, 0);
    const tokens = out.reduce((s, i) => s + i.tokensIn * 30 + i.tokensOut * 60, 0) / 1e6;
    expect(cost).toBeCloseTo(tokens / 2, 10);
  });

  test('a round sends only the requests whose most possible cost still fits the budget, then the job stops before it', async () => {
    server = await startFakeOpenAI({ apiKey: KEY });
    const store = new IdbJobStore(await openStudioDB(`batch-${process.pid}-${++dbCount}`));
    const client = new TeacherClient({ baseURL: server.url, apiKey: KEY });
    // At batch prices a request may cost up to ~0.016 USD (512 answer tokens) and costs ~0.001: one line fits per round.
    const { job, items } = newJob(spec(server.url, { budgetUSD: 0.02 }), sources(10));
    await store.createJob(job, items);
    const runner = new JobRunner(job.id, { store, chat: client, batch: client });
    const stopped = await runner.run();
    expect(stopped.status).toBe('budget');
    expect(stopped.batches!.length).toBeGreaterThan(1);
    expect(stopped.batches!.every((r) => r.files.length === 1 && r.files[0].count === 1)).toBe(true);
    const p = runner.progress();
    expect(p.done).toBe(stopped.batches!.length);
    expect(p.done).toBeLessThan(10);
    expect(p.cost).toBeLessThanOrEqual(0.02);
    expect(server.completedTotal).toBe(p.done);
    expect(stopped.error).toMatch(/^Stopped before passing the budget of \$0\.0200: \$0\.00\d\d spent, and the next request may cost up to \$0\.01\d\d\./);
  });

  test('files split at the request limit, and a reload polls the same batches instead of creating new ones', async () => {
    server = await startFakeOpenAI({ apiKey: KEY, batchPolls: 4 });
    const store = new IdbJobStore(await openStudioDB(`batch-${process.pid}-${++dbCount}`));
    const client = new TeacherClient({ baseURL: server.url, apiKey: KEY });
    const { job, items } = newJob(spec(server.url), sources(25));
    await store.createJob(job, items);

    // First session: submit, then stop (the page goes away) while the batches are still running.
    let stop = false;
    const host = {
      api: client, job: () => current, items, store,
      saveJob: async (j: typeof job) => {
        current = j;
        await store.saveJob(j);
        if (j.batches?.[0]?.files.every((f) => f.batchId)) stop = true;
      },
      saveItem: (i: (typeof items)[number]) => store.saveItem(i),
      stopped: () => stop, wake: new AbortController().signal, sleep: async () => {}, now: Date.now,
      countCacheHit() {}, countFinished() {}, fail(m: string) { throw new Error(m); }, overBudget() {},
    };
    let current = job;
    await runBatches(host, { maxRequests: 10, maxBytes: 1e9 });
    const saved = (await store.loadJob(job.id))!;
    expect(saved.batches![0].files.map((f) => f.count)).toEqual([10, 10, 5]);
    expect(saved.batches![0].files.every((f) => f.batchId && !f.imported)).toBe(true);
    expect(server.batches.size).toBe(3);

    // Second session: a new runner finds the saved batch ids, polls them, imports the results.
    const done = await new JobRunner(job.id, { store, chat: client, batch: client }).run();
    expect(done.status).toBe('done');
    expect(server.batches.size).toBe(3);
    expect(server.files.size).toBe(6); // three inputs, three outputs
    expect(server.duplicates()).toEqual([]);
    expect((await store.loadItems(job.id)).every((i) => i.status === 'done')).toBe(true);
  });

  test('Chinese mode in batches: a translation round, then an answer round', async () => {
    server = await startFakeOpenAI({ apiKey: KEY });
    const store = new IdbJobStore(await openStudioDB(`batch-${process.pid}-${++dbCount}`));
    const client = new TeacherClient({ baseURL: server.url, apiKey: KEY });
    const rows = sources(9);
    const { job, items } = newJob(spec(server.url, { lang: 'zh', translator: { model: 'gpt-3.5-turbo', params: PAPER_PARAMS } }), rows);
    await store.createJob(job, items);
    const done = await new JobRunner(job.id, { store, chat: client, batch: client }).run();
    expect(done.status).toBe('done');
    // Round 1: 9 instruction translations; round 2: the 3 inputs that exist, and the answers of the 6 rows
    // without input; round 3: the answers of the 3 rows with input.
    expect(done.batches!.map((r) => r.files[0].count)).toEqual([9, 9, 3]);
    const out = await store.loadItems(job.id);
    expect(out.every((i) => i.output?.startsWith('回答'))).toBe(true);
    expect(server.duplicates()).toEqual([]);
  });
});

describe('JSONL journal', () => {
  test('replays the last state of every job, row and cache entry, and drops a torn last line', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'journal-'));
    try {
      const file = path.join(dir, 'job.journal.jsonl');
      const a = JournalStore.open(file);
      const { job, items } = newJob(spec('http://127.0.0.1:1/v1', { mode: 'online' }), sources(3));
      await a.createJob(job, items);
      await a.saveItem({ ...items[1], status: 'done', output: 'two' });
      await a.cachePut('k1', { text: 'cached', model: 'gpt-4', usage: { prompt_tokens: 1, completion_tokens: 2 }, finishReason: 'stop' });
      await a.saveJob({ ...job, status: 'running' });
      appendFileSync(file, '{"t":"item","item":{"jobId":"' + job.id + '","ind');

      const b = JournalStore.open(file);
      expect(readFileSync(file, 'utf8').endsWith('\n')).toBe(true);
      expect((await b.loadJob(job.id))!.status).toBe('running');
      expect((await b.loadItems(job.id)).map((i) => i.status)).toEqual(['pending', 'done', 'pending']);
      expect((await b.cacheGet('k1'))!.text).toBe('cached');
      expect(await b.cacheGet('k2')).toBeUndefined();
      expect(b.jobs().map((j) => j.id)).toEqual([job.id]);
      // Stored copies are not shared with callers.
      (await b.loadItems(job.id))[0].status = 'error';
      expect((await b.loadItems(job.id))[0].status).toBe('pending');

      writeFileSync(file, 'not json\n');
      expect(() => JournalStore.open(file)).toThrow(/line 1 is not a journal entry/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
