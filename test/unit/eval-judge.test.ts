import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { alignAnswers, parseAnswerSet, parseEvalSet, type EvalItem } from '../../src/eval/eval-set';
import {
  judgeJobSpec, judgeSources, judgeTasks, parsePick, parseScores, summarize, verdictOf, type JudgeTask, type Side, type Verdict,
} from '../../src/eval/judge';
import { judgeRequest, PAIR_V2_SYSTEM, PAIR_V2_TEMPLATE, VICUNA_PROMPTS, VICUNA_SYSTEM } from '../../src/eval/judge-prompts';
import { DirCache } from '../../src/eval/node-cache';
import { TeacherClient } from '../../src/teacher/client';
import { MemoryCache, MemoryJobStore } from '../../src/teacher/memory-store';
import { DEFAULT_PRICES } from '../../src/teacher/pricing';
import { abortableSleep, JobRunner, newJob, requeue, type RunnerOptions } from '../../src/teacher/runner';
import { startJudgeServer, type JudgeServer } from '../fakes/judge-server';

const shared = path.resolve(__dirname, '../../../shared/data');

describe('parsing the Vicuna reviewer verdict', () => {
  test.each([
    ['8 7\nAssistant 1 was more detailed.', [8, 7]],
    ['8, 7\nexplanation', [8, 7]],
    ['  \n(9, 6)\nexplanation', [9, 6]],
    ['8/10 7/10', [8, 7]],
    ['Scores: 9 6', [9, 6]],
    ['**8.5 7**\n...', [8.5, 7]],
    ['10 and 9', [10, 9]],
    ['Assistant 1: 8\nAssistant 2: 6\n\nBoth answers are relevant.', [8, 6]],
    ["Assistant 1 and Assistant 2 both tried. Assistant 1's score: 7/10, Assistant 2's score: 9/10.", [7, 9]],
    ['First I solve it: 3x + 2 = 11 so x = 3.\nAssistant 1 is right, Assistant 2 slipped.\n(9, 4)', [9, 4]],
    ['Tuple (1, 2) in passing.\nFinal scores: (8, 3)', [8, 3]],
  ])('%j', (text, [first, second]) => {
    expect(parseScores(text)).toEqual({ first, second });
  });

  test.each([
    'Both answers are helpful, so I rate them highly.',
    '8\nOnly one number here.',
    '8/10\nAssistant 2 did not answer.',
    '11 7\nout of range',
    '',
  ])('unparseable: %j', (text) => {
    expect(parseScores(text)).toBeNull();
  });
});

describe('parsing the pair-v2 verdict', () => {
  test('exactly one of [[A]], [[B]], [[C]]', () => {
    expect(parsePick('explanation... [[A]]')).toBe('first');
    expect(parsePick('[[B]]')).toBe('second');
    expect(parsePick('It is a tie: [[C]]. Again, [[C]].')).toBe('tie');
    expect(parsePick('Maybe [[A]], no, [[B]]')).toBeNull();
    expect(parsePick('[A] is better')).toBeNull();
    expect(parsePick('')).toBeNull();
  });
});

describe('judge requests', () => {
  const item: EvalItem = { id: '1', category: 'generic', instruction: 'How do I boil an egg?', input: '' };

  test('vicuna: the system message and the two-assistant template, word for word', () => {
    const r = judgeRequest('vicuna', 'gpt-4', item, 'Boil it {answer_2}.', 'Use a pan.');
    expect(r.model).toBe('gpt-4');
    expect(r.params).toEqual({ temperature: 0.2, top_p: 1, max_tokens: 1024 });
    expect(r.messages[0]).toEqual({ role: 'system', content: VICUNA_SYSTEM });
    expect(r.messages[1].content).toBe(
      "[Question]\nHow do I boil an egg?\n\n[The Start of Assistant 1's Answer]\nBoil it {answer_2}.\n\n[The End of Assistant 1's Answer]\n\n"
      + "[The Start of Assistant 2's Answer]\nUse a pan.\n\n[The End of Assistant 2's Answer]\n\n[System]\n" + VICUNA_PROMPTS.general + '\n\n',
    );
  });

  test('vicuna: coding and math questions get their own instruction', () => {
    const coding = judgeRequest('vicuna', 'm', { ...item, category: 'coding' }, 'x', 'y').messages[1].content;
    const math = judgeRequest('vicuna', 'm', { ...item, category: 'math' }, 'x', 'y').messages[1].content;
    expect(coding).toContain('Your task is to evaluate the coding abilities');
    expect(math).toContain('please output a Python tuple');
    expect(judgeRequest('vicuna', 'm', { ...item, category: 'fermi' }, 'x', 'y').messages[1].content).toContain(VICUNA_PROMPTS.general);
  });

  test('pair-v2: llm_judge system prompt and template; an input is part of the question', () => {
    const r = judgeRequest('pair-v2', 'gpt-4', { ...item, input: 'Soft-boiled.' }, 'A text', 'B text');
    expect(r.params).toEqual({ temperature: 0, top_p: 1, max_tokens: 2048 });
    expect(r.messages[0].content).toBe(PAIR_V2_SYSTEM);
    expect(r.messages[1].content).toBe(
      "[User Question]\nHow do I boil an egg?\n\nSoft-boiled.\n\n[The Start of Assistant A's Answer]\nA text\n[The End of Assistant A's Answer]\n\n"
      + "[The Start of Assistant B's Answer]\nB text\n[The End of Assistant B's Answer]",
    );
  });

  test.skipIf(!existsSync(path.join(shared, 'fastchat_judge_prompts.jsonl')))('pair-v2 text equals the shared llm_judge prompt file (skipped without ../shared)', () => {
    const prompts = readFileSync(path.join(shared, 'fastchat_judge_prompts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const v2 = prompts.find((p) => p.name === 'pair-v2');
    expect(PAIR_V2_SYSTEM).toBe(v2.system_prompt);
    expect(PAIR_V2_TEMPLATE).toBe(v2.prompt_template);
  });
});

const v = (questionId: string, first: 'a' | 'b', points: { a: number; b: number } | null, category = 'generic'): Verdict => ({
  questionId, category, first, text: points ? `${points.a} ${points.b}` : 'no idea', points, cached: false,
});

describe('summarize (the paper totals)', () => {
  test('sums per order and their mean, over questions parsed in both orders', () => {
    const s = summarize([
      v('1', 'a', { a: 8, b: 6 }), v('1', 'b', { a: 7, b: 7 }),
      v('2', 'a', { a: 5, b: 9 }, 'math'), v('2', 'b', { a: 6, b: 8 }, 'math'),
      v('3', 'a', { a: 10, b: 1 }), v('3', 'b', null), // parsed once only: left out of every total
      { ...v('4', 'a', null), text: null, error: 'server error 500' }, v('4', 'b', { a: 9, b: 9 }),
    ]);
    expect(s.n).toBe(2);
    expect(s.orders).toEqual([{ first: 'a', a_total: 13, b_total: 15 }, { first: 'b', a_total: 13, b_total: 15 }]);
    expect(s.a_total).toBe(13);
    expect(s.b_total).toBe(15);
    expect(s.ratio).toBeCloseTo(13 / 15, 12);
    expect({ wins: s.wins, ties: s.ties, losses: s.losses }).toEqual({ wins: 1, ties: 0, losses: 1 });
    expect(s.unparsed).toEqual([{ question_id: '3', first: 'b', text: 'no idea' }]);
    expect(s.failed).toEqual([{ question_id: '4', first: 'a', error: 'server error 500' }]);
    expect(s.categories.generic).toEqual({ n: 1, a_total: 7.5, b_total: 6.5, ratio: 7.5 / 6.5, wins: 1, ties: 0, losses: 0 });
    expect(s.categories.math).toMatchObject({ n: 1, a_total: 5.5, b_total: 8.5, losses: 1 });
  });

  test('nothing parsed: zero totals and no ratio', () => {
    const s = summarize([v('1', 'a', null)]);
    expect(s).toMatchObject({ n: 0, a_total: 0, b_total: 0, ratio: null });
  });
});

const questions: EvalItem[] = [
  { id: '1', category: 'generic', instruction: 'How can I improve my time management skills?', input: '' },
  { id: '61', category: 'coding', instruction: 'Write a C++ program that counts words.', input: '' },
  { id: '71', category: 'math', instruction: 'Solve 3x + 2 = 11.', input: '' },
  { id: '9', category: 'generic', instruction: 'What is the capital of Peru?', input: '' },
];
const answersA = new Map([['1', 'Plan your day. [quality 8]'], ['61', 'int main() {} [quality 6]'], ['71', 'x = 3 [quality 9]'], ['9', 'Lima [garble]']]);
const answersB = new Map([['1', 'Sleep more. [quality 6]'], ['61', 'A full program. [quality 7]'], ['71', 'x is 3. [quality 9]'], ['9', 'Lima.']]);

describe('the judge as a job on the job runner, against a fake endpoint', () => {
  let server: JudgeServer;
  beforeAll(async () => {
    server = await startJudgeServer({ apiKey: 'sk-judge-test-0123456789', firstBias: 1 });
  });
  afterAll(() => server.close());
  afterEach(() => {
    server.options.rateLimitFirst = 0;
  });

  type Answers = Record<Side, ReadonlyMap<string, string>>;
  const both = { a: answersA, b: answersB };

  async function judgeJob(tasks: JudgeTask[], answers: Answers, o: { cache?: MemoryCache; prompt?: 'vicuna' | 'pair-v2'; budgetUSD?: number | null; concurrency?: number } = {}) {
    const store = new MemoryJobStore(o.cache ?? new MemoryCache());
    const spec = judgeJobSpec('test', 'run-1', {
      baseURL: server.url, model: 'gpt-4', prompt: o.prompt ?? 'vicuna', mode: 'online', concurrency: o.concurrency ?? 3, maxAttempts: 4,
      budgetUSD: o.budgetUSD ?? null, prices: DEFAULT_PRICES,
    });
    const { job, items } = newJob(spec, judgeSources(tasks, answers));
    await store.createJob(job, items);
    return { store, id: job.id };
  }

  async function run(store: MemoryJobStore, id: string, options: Partial<RunnerOptions> = {}) {
    const runner = new JobRunner(id, { store, chat: new TeacherClient({ baseURL: server.url, apiKey: 'sk-judge-test-0123456789' }), baseDelayMs: 1, ...options });
    const job = await runner.run();
    const verdicts = (await store.loadItems(id)).map((item) => verdictOf(job.spec, item)).filter((x): x is Verdict => x !== null);
    return { job, verdicts, progress: runner.progress() };
  }

  test('both orders, paper totals, unparseable verdicts reported, a rerun sends nothing, a retry asks again', async () => {
    const cache = new MemoryCache();
    const before = server.requests;
    const first = await judgeJob(judgeTasks(questions), both, { cache });
    const { job, verdicts, progress } = await run(first.store, first.id);
    expect(job.status).toBe('done');
    expect(server.requests - before).toBe(8);
    expect(progress.requests).toBe(8);
    expect(progress.cost).toBeGreaterThan(0);
    expect(verdicts.map((x) => `${x.questionId}:${x.first}`)).toEqual(['1:a', '1:b', '61:a', '61:b', '71:a', '71:b', '9:a', '9:b']);
    // The fake adds 1 to whichever answer it is shown first; both orders cancel that out.
    expect(verdicts.slice(0, 2).map((x) => x.points)).toEqual([{ a: 9, b: 6 }, { a: 8, b: 7 }]);
    const s = summarize(verdicts);
    expect(s.orders).toEqual([{ first: 'a', a_total: 26, b_total: 22 }, { first: 'b', a_total: 23, b_total: 25 }]);
    expect([s.a_total, s.b_total, s.n]).toEqual([24.5, 23.5, 3]);
    expect(s.ratio).toBeCloseTo(24.5 / 23.5, 12);
    expect({ wins: s.wins, ties: s.ties, losses: s.losses }).toEqual({ wins: 1, ties: 1, losses: 1 });
    expect(s.unparsed.map((u) => `${u.question_id}:${u.first}`)).toEqual(['9:a', '9:b']);
    expect(s.unparsed[0].text).toContain('cannot decide');
    expect(Object.keys(s.categories).sort()).toEqual(['coding', 'generic', 'math']);
    // The math prompt got its tuple at the end, and it was read.
    expect(verdicts[4].text).toMatch(/\(10, 9\)$/);

    const second = await judgeJob(judgeTasks(questions), both, { cache });
    const again = await run(second.store, second.id);
    expect(server.requests - before).toBe(8);
    expect(again.progress.requests).toBe(0);
    expect(again.progress.cacheHits).toBe(8);
    expect(again.verdicts.every((x) => x.cached)).toBe(true);
    expect(summarize(again.verdicts)).toEqual(s);

    // Asking again for the unreadable verdicts bypasses the cache for those rows only.
    expect(await requeue(first.store, first.id, [6, 7], true)).toBe(2);
    const retried = await run(first.store, first.id);
    expect(server.requests - before).toBe(10);
    expect(retried.progress.requests).toBe(2);
    expect(retried.verdicts.filter((x) => x.questionId === '9').every((x) => !x.cached && x.points === null)).toBe(true);
  });

  test('pair-v2 verdicts become 1 / 0 / 0.5 points', async () => {
    const { store, id } = await judgeJob(judgeTasks(questions.slice(0, 3)), both, { prompt: 'pair-v2' });
    const s = summarize((await run(store, id)).verdicts);
    expect(s.orders).toEqual([{ first: 'a', a_total: 1.5, b_total: 1.5 }, { first: 'b', a_total: 1.5, b_total: 1.5 }]);
    expect({ wins: s.wins, ties: s.ties, losses: s.losses }).toEqual({ wins: 1, ties: 1, losses: 1 });
  });

  test('429 holds the job for Retry-After before the next try; every try is counted', async () => {
    server.options.rateLimitFirst = server.requests + 2;
    const waits: number[] = [];
    const { store, id } = await judgeJob(judgeTasks(questions.slice(0, 1)), both, { concurrency: 1 });
    const { verdicts, progress } = await run(store, id, {
      random: () => 0,
      sleep: (ms, signal) => {
        waits.push(ms);
        return abortableSleep(ms, signal);
      },
    });
    expect(verdicts.every((x) => x.points !== null)).toBe(true);
    expect(progress.requests).toBe(4);
    expect(progress.retries).toBe(2);
    // The fake asks for 10 ms; the runner's own backoff base here is 1 ms.
    expect(waits.filter((ms) => ms >= 10)).toHaveLength(2);
  });

  test('the budget stops a judge job before a request could pass it, and says what to raise', async () => {
    // Each vicuna request may cost up to its prompt plus 1024 answer tokens at gpt-4 prices (about 0.07 USD), and
    // costs about 0.01 USD: a few go out before the next one's bound no longer fits.
    const { store, id } = await judgeJob(judgeTasks(questions), both, { budgetUSD: 0.1, concurrency: 2 });
    const { job, progress } = await run(store, id);
    expect(job.status).toBe('budget');
    expect(progress.done).toBeGreaterThan(0);
    expect(progress.done).toBeLessThan(8);
    expect(progress.cost).toBeLessThanOrEqual(0.1);
    expect(job.error).toMatch(/^Stopped before passing the budget of \$0\.1000: \$0\.0\d{3} spent, and the next request may cost up to \$0\.0\d{3}\. Raise the budget to at least \$0\.1\d{3} to go on/);
  });

  test('a missing answer is refused before any request', () => {
    expect(() => judgeSources(judgeTasks(questions), { a: answersA, b: new Map([['1', 'x']]) })).toThrow(/answer set B has no answer for question\(s\) 61, 71, 9/);
  });
});

describe('answer files', () => {
  test('FastChat {question_id, text}, {question_id, choices: [{turns}]} and Alpaca-style outputs', () => {
    const items = parseEvalSet('{"question_id": 1, "text": "Q one", "category": "generic"}\n{"question_id": 2, "category": "math", "turns": ["Q two", "later"]}', 'q.jsonl');
    expect(items).toEqual([
      { id: '1', category: 'generic', instruction: 'Q one', input: '' },
      { id: '2', category: 'math', instruction: 'Q two', input: '' },
    ]);
    const byId = alignAnswers(items, parseAnswerSet('{"question_id": 2, "text": "two"}\n{"question_id": 1, "text": "one", "model_id": "m"}', 'a.jsonl'), 'a.jsonl');
    expect([...byId]).toEqual([['1', 'one'], ['2', 'two']]);
    const choices = parseAnswerSet('{"question_id": 1, "model_id": "gpt-4", "choices": [{"index": 0, "turns": ["first turn", "second"]}]}', 'c.jsonl');
    expect(choices[0]).toEqual({ id: '1', instruction: null, input: '', text: 'first turn', model: 'gpt-4' });
    const alpaca = parseAnswerSet('[{"instruction": "Q two", "output": "deux", "generator": "alpaca"}, {"instruction": "Q one", "input": "", "output": "un"}]', 'o.json');
    expect([...alignAnswers(items, alpaca, 'o.json')]).toEqual([['1', 'un'], ['2', 'deux']]);
    expect(() => alignAnswers(items, alpaca.slice(0, 1), 'o.json')).toThrow(/o\.json: 1 of 2 questions have no answer \("1"\)/);
    expect(() => parseAnswerSet('{"question_id": 1}', 'bad.jsonl')).toThrow(/bad\.jsonl line 1: not a recognised record; expected \{question_id, text\}/);
  });
});

describe('DirCache', () => {
  test('round-trips an answer, treats a torn file as missing, and refuses keys that are not digests', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'eval-cache-'));
    try {
      const cache = new DirCache(path.join(dir, 'nested'));
      const key = 'ab'.repeat(32);
      expect(await cache.cacheGet(key)).toBeUndefined();
      const result = { text: '8 7', model: 'gpt-4', usage: { prompt_tokens: 3, completion_tokens: 2 }, finishReason: 'stop' };
      await cache.cachePut(key, result);
      expect(await cache.cacheGet(key)).toEqual(result);
      await writeFile(path.join(dir, 'nested', `${key}.json`), '{"key": "ab');
      expect(await cache.cacheGet(key)).toBeUndefined();
      await expect(cache.cacheGet('../escape')).rejects.toThrow(/not a SHA-256 digest/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('judge CLI', () => {
  let dir = '';
  let server: JudgeServer;
  const key = 'sk-cli-secret-abcdefghijklmnop';
  const exec = promisify(execFile);
  const cli = (env: Record<string, string>, ...args: string[]) =>
    exec('node', ['--import', 'tsx', '--import', './src/cli/raw-import.mjs', 'src/cli/main.ts', 'judge', ...args], { env: { ...process.env, ...env } });

  beforeAll(async () => {
    server = await startJudgeServer({ apiKey: key });
    dir = await mkdtemp(path.join(tmpdir(), 'eval-judge-'));
    await writeFile(path.join(dir, 'q.jsonl'), questions.slice(0, 3).map((q) => JSON.stringify({ question_id: Number(q.id), text: q.instruction, category: q.category })).join('\n'));
    await writeFile(path.join(dir, 'a.jsonl'), [...answersA].map(([id, text]) => JSON.stringify({ question_id: Number(id), text })).join('\n'));
    await writeFile(path.join(dir, 'b.jsonl'), [...answersB].map(([id, text]) => JSON.stringify({ question_id: Number(id), text })).join('\n'));
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const args = () => ['--questions', path.join(dir, 'q.jsonl'), '--answers-a', path.join(dir, 'a.jsonl'), '--answers-b', path.join(dir, 'b.jsonl'),
    '--base-url', server.url, '--model', 'gpt-4', '--cache', path.join(dir, 'cache')];

  test('prints the totals; a rerun with --cache sends no request; the key is in no output or cache file', async () => {
    const first = await cli({ OPENAI_API_KEY: key }, ...args());
    const out = JSON.parse(first.stdout);
    expect(out).toMatchObject({
      a_total: 23, b_total: 22, n: 3,
      orders: [{ first: 'a', a_total: 23, b_total: 22 }, { first: 'b', a_total: 23, b_total: 22 }],
      unparsed: [], requests: 6, cache_hits: 0,
    });
    expect(out.ratio).toBeCloseTo(23 / 22, 12);
    expect(server.requests).toBe(6);

    // Question 1 to A, 61 to B, 71 a tie, the same in both orders.
    expect(out.questions).toEqual([
      { question_id: '1', category: 'generic', a_first: { a: 8, b: 6 }, b_first: { a: 8, b: 6 }, outcome: 'a', length: { a: 5, b: 4 } },
      { question_id: '61', category: 'coding', a_first: { a: 6, b: 7 }, b_first: { a: 6, b: 7 }, outcome: 'b', length: { a: 4, b: 5 } },
      { question_id: '71', category: 'math', a_first: { a: 9, b: 9 }, b_first: { a: 9, b: 9 }, outcome: 'tie', length: { a: 4, b: 5 } },
    ]);
    expect(out).toMatchObject({ win_rate: 0.5, position_consistency: 1, first_position_win_rate: 0.5, bootstrap: { resamples: 1000, seed: 1 } });
    for (const name of ['relative_score_ci95', 'win_rate_ci95']) {
      expect(out[name]).toHaveLength(2);
      expect(out[name][0]).toBeLessThanOrEqual(out[name][1]);
    }
    expect(out.relative_score_ci95[0]).toBeLessThan(out.ratio);
    expect(out.relative_score_ci95[1]).toBeGreaterThan(out.ratio);
    expect(typeof out.lc_win_rate).toBe('number');
    expect(typeof out.length_coefficient).toBe('number');

    const second = await cli({ OPENAI_API_KEY: key }, ...args());
    const again = JSON.parse(second.stdout);
    expect(again).toMatchObject({ a_total: 23, b_total: 22, requests: 0, cache_hits: 6 });
    expect(server.requests).toBe(6);
    const numbers = ({ requests: _r, cache_hits: _c, cost_usd: _u, ...rest }: Record<string, unknown>) => rest;
    expect(numbers(again)).toEqual(numbers(out));

    const files = await readdir(path.join(dir, 'cache'));
    expect(files).toHaveLength(6);
    for (const f of files) expect(await readFile(path.join(dir, 'cache', f), 'utf8')).not.toContain(key);
    expect(first.stdout + first.stderr + second.stdout + second.stderr).not.toContain(key);
  }, 30_000);

  test('a judge biased to the first answer: inconsistent questions, position consistency, --bootstrap and --seed', async () => {
    const biased = await startJudgeServer({ apiKey: key, firstBias: 1 });
    try {
      const flags = ['--questions', path.join(dir, 'q.jsonl'), '--answers-a', path.join(dir, 'a.jsonl'), '--answers-b', path.join(dir, 'b.jsonl'),
        '--base-url', biased.url, '--model', 'gpt-4', '--cache', path.join(dir, 'biased-cache')];
      const out = JSON.parse((await cli({ OPENAI_API_KEY: key }, ...flags, '--bootstrap', '200', '--seed', '5')).stdout);
      // Question 1 goes to A in both orders; 61 and 71 go to whichever answer is shown first (61: a tie with A first).
      expect(out.questions.map((q: { outcome: string }) => q.outcome)).toEqual(['a', 'inconsistent', 'inconsistent']);
      expect(out.position_consistency).toBeCloseTo(1 / 3, 12);
      expect(out.first_position_win_rate).toBeCloseTo((1 + 0 + 0.5 + 1 + 1 + 1) / 6, 12);
      expect(out.win_rate).toBeCloseTo((1 + 0.5 + 0.5) / 3, 12);
      expect(out.bootstrap).toEqual({ resamples: 200, seed: 5 });
      const same = JSON.parse((await cli({ OPENAI_API_KEY: key }, ...flags, '--bootstrap', '200', '--seed', '5')).stdout);
      expect(same.win_rate_ci95).toEqual(out.win_rate_ci95);
      expect(same.requests).toBe(0);
      await expect(cli({ OPENAI_API_KEY: key }, ...flags, '--bootstrap', '0')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--bootstrap') });
    } finally {
      await biased.close();
    }
  }, 30_000);

  test('a rejected key stops the run with a message that does not echo it', async () => {
    const wrong = 'sk-wrong-key-zyxwvutsrqponm';
    const run = cli({ OPENAI_API_KEY: wrong }, ...args().slice(0, -2));
    await expect(run).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('rejected the API key') });
    const error = await run.catch((e: { stdout: string; stderr: string }) => e);
    expect(`${error.stdout}${error.stderr}`).not.toContain(wrong);
  });

  test('no key is a usage error', async () => {
    await expect(cli({ OPENAI_API_KEY: '' }, ...args())).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('OPENAI_API_KEY') });
  });
});
