// `judge --questions FILE --answers-a FILE --answers-b FILE --base-url URL --model NAME [--prompt vicuna|pair-v2]
// [--cache DIR] [--concurrency N]`: GPT-4 as judge of A against B, each question in both orders, printing
// the paper's totals as JSON. The key comes from OPENAI_API_KEY and goes nowhere but the endpoint.
import { readFile } from 'node:fs/promises';
import { numberFlag, parseFlags, requireFlag, UsageError } from './args';
import { alignAnswers, parseAnswerSet, parseEvalSet } from '../eval/eval-set';
import { Judge, judgeTasks, MemoryCache, summarize } from '../eval/judge';
import { JUDGE_PROMPTS, type JudgePromptId } from '../eval/judge-prompts';
import { DirCache } from '../eval/node-cache';
import { TeacherClient } from '../teacher/client';

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, {
    questions: 'string', 'answers-a': 'string', 'answers-b': 'string', 'base-url': 'string', model: 'string',
    prompt: 'string', cache: 'string', concurrency: 'string',
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
  const apiKey = process.env.OPENAI_API_KEY;
  if (!apiKey) throw new UsageError('set OPENAI_API_KEY to the key for --base-url (any non-empty value for a local server that needs none)');

  const [questionsText, aText, bText] = await Promise.all([questionsFile, aFile, bFile].map((f) => readFile(f, 'utf8')));
  const items = parseEvalSet(questionsText, questionsFile);
  const answers = {
    a: alignAnswers(items, parseAnswerSet(aText, aFile), aFile),
    b: alignAnswers(items, parseAnswerSet(bText, bFile), bFile),
  };
  const judge = new Judge({
    chat: new TeacherClient({ baseURL, apiKey }),
    cache: flags.cache ? new DirCache(flags.cache) : new MemoryCache(),
    baseURL,
    model,
    prompt,
    concurrency,
  });
  const verdicts = await judge.run(judgeTasks(items), answers);
  const summary = summarize(verdicts);
  process.stdout.write(`${JSON.stringify({ ...summary, requests: judge.requests, cache_hits: judge.cacheHits })}\n`);
  if (summary.failed.length) {
    throw new Error(`${summary.failed.length} judgement(s) failed (the first: ${summary.failed[0].error}); run again to retry them${flags.cache ? ', the others come from the cache' : ''}`);
  }
}
