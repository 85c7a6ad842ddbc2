// `teach --source FILE --out FILE --base-url URL --model NAME [--lang en|zh] [--translator NAME]
// [--concurrency N] [--max-tokens N] [--temperature T] [--top-p P] [--journal FILE] [--budget USD]`:
// answers every instruction of FILE with the teacher and writes --out as an Alpaca JSON array. Progress lives
// in the journal (default: OUT.journal.jsonl); killed at any moment and run again with the same journal, it
// resumes where it stopped and never pays for an answer it already received. The key comes from
// OPENAI_API_KEY and goes nowhere but the endpoint: not into the journal, the output or any message.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { numberFlag, parseFlags, requireFlag, UsageError } from './args';
import { exportRows } from '../data/export';
import { parseDataset } from '../data/formats';
import { TeacherClient } from '../teacher/client';
import { redact } from '../teacher/errors';
import { JournalStore } from '../teacher/journal';
import { jobRows } from '../teacher/output';
import { DEFAULT_PRICES } from '../teacher/pricing';
import { JobRunner, newJob, requeue, type Progress } from '../teacher/runner';
import { PAPER_PARAMS, type JobItem, type JobLang, type JobRecord, type JobSpec } from '../teacher/types';

const FLAGS = {
  source: 'string', out: 'string', 'base-url': 'string', model: 'string', lang: 'string', translator: 'string',
  concurrency: 'string', 'max-tokens': 'string', temperature: 'string', 'top-p': 'string', journal: 'string', budget: 'string',
} as const;

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, FLAGS);
  const sourceFile = requireFlag(flags.source, 'source');
  const outFile = requireFlag(flags.out, 'out');
  const baseURL = requireFlag(flags['base-url'], 'base-url');
  const model = requireFlag(flags.model, 'model');
  const lang = (flags.lang ?? 'en') as JobLang;
  if (lang !== 'en' && lang !== 'zh') throw new UsageError(`--lang must be en or zh, got "${flags.lang}"`);
  const concurrency = numberFlag(flags.concurrency, 'concurrency', 8);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError('--concurrency must be a whole number of at least 1');
  const params = {
    temperature: numberFlag(flags.temperature, 'temperature', PAPER_PARAMS.temperature),
    top_p: numberFlag(flags['top-p'], 'top-p', PAPER_PARAMS.top_p),
    max_tokens: numberFlag(flags['max-tokens'], 'max-tokens', PAPER_PARAMS.max_tokens),
  };
  const budget = flags.budget === undefined ? null : numberFlag(flags.budget, 'budget', 0);
  const apiKey = process.env.OPENAI_API_KEY;
  if (!apiKey) throw new UsageError('set OPENAI_API_KEY to the key for --base-url (any non-empty value for a local server that needs none)');

  const sourceText = readFileSync(sourceFile, 'utf8');
  const { rows } = parseDataset(sourceText);
  const spec: JobSpec = {
    name: `teach ${sourceFile}`,
    baseURL, lang, mode: 'online',
    teacher: { model, params },
    translator: lang === 'zh' ? { model: flags.translator ?? 'gpt-3.5-turbo', params } : undefined,
    concurrency, maxAttempts: 8, budgetUSD: budget, prices: DEFAULT_PRICES,
    source: { name: sourceFile, digest: createHash('sha256').update(sourceText).digest('hex') },
  };

  const journalFile = flags.journal ?? `${outFile}.journal.jsonl`;
  const store = JournalStore.open(journalFile);
  const job = await resumeOrCreate(store, spec, () => newJob(spec, rows), journalFile);
  const client = new TeacherClient({ baseURL, apiKey });
  const say = (text: string) => process.stderr.write(redact(text, [apiKey]) + '\n');

  const { finished, runner } = await runInTerminal('teach', store, job.id, client, say);

  const items = await store.loadItems(job.id);
  const out = exportRows(jobRows(finished.spec, items), 'alpaca-json', outFile);
  writeFileSync(`${outFile}.tmp`, out.text);
  renameSync(`${outFile}.tmp`, outFile);
  const p = runner.progress();
  say(`teach: ${progressLine(p)}; wrote ${out.count} rows to ${outFile}`);

  throwUnlessComplete(finished, p, items);
}

/** Ends a command that wrote what it had with an error when the job did not finish every row. */
export function throwUnlessComplete(finished: JobRecord, p: Progress, items: readonly JobItem[]): void {
  if (finished.status === 'failed') throw new Error(finished.error ?? 'the job failed');
  if (finished.status === 'budget') throw new Error(`${finished.error ?? 'stopped at the budget'} (${p.pending} rows left: raise --budget and run again)`);
  if (finished.status === 'paused') throw new Error(`interrupted with ${p.pending} rows left: run the same command again to continue`);
  const failed = items.filter((i) => i.status === 'error');
  if (failed.length) {
    throw new Error(`${failed.length} rows failed (row ${failed[0].index + 1}: ${failed[0].error}); run the same command again to retry them`);
  }
}

/**
 * Runs a journal's job with progress on stderr at most every 2 s; the first SIGINT or SIGTERM pauses it after the
 * requests in flight (so everything paid for is journalled), a second SIGINT quits at once. Shared by `teach`
 * and `feedback`.
 */
export async function runInTerminal(
  command: string, store: JournalStore, jobId: string, client: TeacherClient, say: (text: string) => void, done = 'answered',
): Promise<{ finished: JobRecord; runner: JobRunner }> {
  let last = 0;
  const runner = new JobRunner(jobId, {
    store, chat: client,
    onProgress: (p) => {
      if (Date.now() - last < 2000) return;
      last = Date.now();
      say(progressLine(p, done));
    },
  });
  const interrupt = () => {
    say(`${command}: stopping after the requests in flight (interrupt again to quit now)`);
    runner.pause();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const finished = await runner.run();
  process.off('SIGINT', interrupt);
  process.off('SIGTERM', interrupt);
  return { finished, runner };
}

/**
 * The journal's job if it is this job (same source, endpoint, prompt, models, params), with its failed rows
 * queued again; a new one, made by `create`, when the journal is new. Shared by `teach` and `feedback`.
 */
export async function resumeOrCreate(store: JournalStore, spec: JobSpec, create: () => { job: JobRecord; items: JobItem[] }, journalFile: string): Promise<JobRecord> {
  const [existing] = store.jobs();
  if (!existing) {
    const { job, items } = create();
    await store.createJob(job, items);
    return job;
  }
  const identity = (s: JobSpec) => JSON.stringify([s.source.digest, s.baseURL, s.prompt ?? 'alpaca', s.lang, s.teacher, s.lang === 'zh' ? s.translator : null]);
  if (identity(existing.spec) !== identity(spec)) {
    throw new UsageError(`${journalFile} belongs to another job (source, endpoint, model or parameters differ): pass a new --journal, or delete that file to start over`);
  }
  await requeue(store, existing.id, 'errors');
  const job = { ...existing, spec: { ...existing.spec, concurrency: spec.concurrency, budgetUSD: spec.budgetUSD } };
  await store.saveJob(job);
  return job;
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

export function progressLine(p: Progress, done = 'answered'): string {
  const k = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n));
  return [
    `${p.done}/${p.total} ${done}`,
    p.errors ? `${p.errors} failed` : '',
    p.inFlight ? `${p.inFlight} in flight` : '',
    p.perMinute ? `${p.perMinute.toFixed(0)}/min` : '',
    p.etaSeconds !== null && p.pending ? `ETA ${duration(p.etaSeconds)}` : '',
    `${k(p.tokensIn)} tokens in / ${k(p.tokensOut)} out`,
    `$${p.cost.toFixed(p.cost < 1 ? 4 : 2)}${p.unpriced.length ? ` (no price for ${p.unpriced.join(', ')})` : ''}`,
    p.cacheHits ? `${p.cacheHits} from cache` : '',
  ].filter(Boolean).join(', ');
}
