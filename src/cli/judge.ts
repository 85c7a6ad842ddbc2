// `judge --questions FILE --answers-a FILE --answers-b FILE --base-url URL --model NAME [--prompt vicuna|pair-v2]
// [--cache DIR] [--concurrency N] [--budget USD] [--bootstrap N] [--seed S]`: GPT-4 as judge of A against B, each
// question in both orders, as a job on the teacher's job runner (Retry-After, budget, cost), printing as JSON the
// paper's totals, the per-question verdicts (`questions`), bootstrap 95% intervals (N resamples, seed S), position
// consistency and the length-controlled win rate. The key comes from OPENAI_API_KEY and goes nowhere but the endpoint.
import { readFile } from 'node:fs/promises';
import { numberFlag, parseFlags, requireFlag, UsageError } from './args';
import { alignAnswers, parseAnswerSet, parseEvalSet } from '../eval/eval-set';
import { judgeJobSpec, judgeSources, judgeTasks, summarize, verdictOf, type Verdict } from '../eval/judge';
import { JUDGE_PROMPTS, type JudgePromptId } from '../eval/judge-prompts';
import { answerLength, DEFAULT_BOOTSTRAP, judgeStats, questionVerdicts } from '../eval/judge-stats';
import { DirCache } from '../eval/node-cache';
import { TeacherClient } from '../teacher/client';
import { MemoryCache, MemoryJobStore } from '../teacher/memory-store';
import { DEFAULT_PRICES } from '../teacher/pricing';
import { JobRunner, newJob } from '../teacher/runner';

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, {
    questions: 'string', 'answers-a': 'string', 'answers-b': 'string', 'base-url': 'string', model: 'string',
    prompt: 'string', cache: 'string', concurrency: 'string', budget: 'string', bootstrap: 'string', seed: 'string',
  });
  const questionsFile = requireFlag(flags.questions, 'questions');
  const aFile = requireFlag(flags['answers-a'], 'answers-a');
  const bFile = requireFlag(flags['answers-b'], 'answers-b');
  const baseURL = requireFlag(flags['base-url'], 'base-url');
  const model = requireFlag(flags.model, 'model');
  const prompt = (flags.prompt ?? 'vicuna') as JudgePromptId;
  if (!JUDGE_PROMPTS.includes(prompt)) throw new UsageError(`--prompt must be one of ${JUDGE_PROMPTS.join(', ')}, got "${prompt}"`);
  const concurrency = numberFlag(flags.concurrency, 'concurrency', 4);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError('--concurrency must be a whole number of at least 1');
  const budget = flags.budget === undefined ? null : numberFlag(flags.budget, 'budget', 0);
  const resamples = numberFlag(flags.bootstrap, 'bootstrap', DEFAULT_BOOTSTRAP.resamples);
  if (!Number.isInteger(resamples) || resamples < 1) throw new UsageError('--bootstrap must be a whole number of resamples, at least 1');
  const seed = numberFlag(flags.seed, 'seed', DEFAULT_BOOTSTRAP.seed);
  if (!Number.isInteger(seed)) throw new UsageError('--seed must be a whole number');
  const apiKey = process.env.OPENAI_API_KEY;
  if (!apiKey) throw new UsageError('set OPENAI_API_KEY to the key for --base-url (any non-empty value for a local server that needs none)');

  const [questionsText, aText, bText] = await Promise.all([questionsFile, aFile, bFile].map((f) => readFile(f, 'utf8')));
  const items = parseEvalSet(questionsText, questionsFile);
  const answers = {
    a: alignAnswers(items, parseAnswerSet(aText, aFile), aFile),
    b: alignAnswers(items, parseAnswerSet(bText, bFile), bFile),
  };
  const store = new MemoryJobStore(flags.cache ? new DirCache(flags.cache) : new MemoryCache());
  const { job, items: rows } = newJob(judgeJobSpec('judge', 'cli', {
    baseURL, model, prompt, mode: 'online', concurrency, maxAttempts: 4, budgetUSD: budget, prices: DEFAULT_PRICES,
  }), judgeSources(judgeTasks(items), answers));
  await store.createJob(job, rows);
  const runner = new JobRunner(job.id, { store, chat: new TeacherClient({ baseURL, apiKey }) });
  const finished = await runner.run();
  if (finished.status === 'failed') throw new Error(finished.error ?? 'the judge endpoint refused the run');
  const verdicts = (await store.loadItems(job.id)).map((item) => verdictOf(finished.spec, item)).filter((v): v is Verdict => v !== null);
  const summary = summarize(verdicts);
  const lengths = Object.fromEntries(items.map((q) => [q.id, { a: answerLength(answers.a.get(q.id)!), b: answerLength(answers.b.get(q.id)!) }]));
  const questions = questionVerdicts(verdicts, lengths);
  const stats = judgeStats(questions, { resamples, seed });
  const p = runner.progress();
  process.stdout.write(`${JSON.stringify({ ...summary, ...stats, questions, requests: p.requests, cache_hits: p.cacheHits, cost_usd: p.cost })}\n`);
  const again = `run again to retry them${flags.cache ? ', the others come from the cache' : ''}`;
  if (finished.status === 'budget') throw new Error(`${finished.error} (raise --budget; ${again})`);
  if (summary.failed.length) throw new Error(`${summary.failed.length} judgement(s) failed (the first: ${summary.failed[0].error}); ${again}`);
}
