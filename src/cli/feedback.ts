// `feedback --source FILE[,FILE...] --out FILE --base-url URL --model NAME [--pairs-out FILE] [--concurrency N]
// [--max-tokens N] [--temperature T] [--top-p P] [--journal FILE] [--budget USD] [--retry-unparseable]`:
// the teacher rates every response of the source files 1-10 with GPT-4-LLM's feedback prompt. Sources are
// dataset files: comparison_data_v2 rows (every response), preference pairs (chosen and rejected), or Alpaca rows
// whose output is a response (several files answering the same instructions give several responses each; the
// source of a response is its file's name). --out gets the scores as comparison_data_v2 JSON
// {user_input, responses_and_scores: [{response, score, source}]}; --pairs-out (default OUT.pairs.jsonl) gets
// {prompt, chosen, rejected} from every two responses of a prompt with different scores; ties are dropped and
// counted. A verdict whose score cannot be read is reported and never counts; --retry-unparseable asks again
// for those. As `teach`: the key comes from OPENAI_API_KEY, progress lives in the journal (default
// OUT.journal.jsonl), and a run killed at any moment and started again with the same journal pays for nothing twice.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { numberFlag, parseFlags, requireFlag, UsageError } from './args';
import { progressLine, resumeOrCreate, runInTerminal, throwUnlessComplete } from './teach';
import { exportRows } from '../data/export';
import { parseDataset } from '../data/formats';
import { TeacherClient } from '../teacher/client';
import { redact } from '../teacher/errors';
import { candidatesFromRows, feedbackResults, planFeedback, type FeedbackCandidate } from '../teacher/feedback';
import { JournalStore } from '../teacher/journal';
import { DEFAULT_PRICES } from '../teacher/pricing';
import { FEEDBACK_PARAMS } from '../teacher/prompts';
import { newJob, requeue } from '../teacher/runner';
import type { JobSpec } from '../teacher/types';

const FLAGS = {
  source: 'string', out: 'string', 'pairs-out': 'string', 'base-url': 'string', model: 'string',
  concurrency: 'string', 'max-tokens': 'string', temperature: 'string', 'top-p': 'string', journal: 'string', budget: 'string',
  'retry-unparseable': 'boolean',
} as const;

function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, FLAGS);
  const sourceFiles = requireFlag(flags.source, 'source').split(',').map((f) => f.trim()).filter(Boolean);
  if (!sourceFiles.length) throw new UsageError('--source needs at least one file');
  const outFile = requireFlag(flags.out, 'out');
  const pairsFile = flags['pairs-out'] ?? `${outFile.replace(/\.(jsonl?|json)$/i, '')}.pairs.jsonl`;
  const baseURL = requireFlag(flags['base-url'], 'base-url');
  const model = requireFlag(flags.model, 'model');
  const concurrency = numberFlag(flags.concurrency, 'concurrency', 8);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError('--concurrency must be a whole number of at least 1');
  const params = {
    temperature: numberFlag(flags.temperature, 'temperature', FEEDBACK_PARAMS.temperature),
    top_p: numberFlag(flags['top-p'], 'top-p', FEEDBACK_PARAMS.top_p),
    max_tokens: numberFlag(flags['max-tokens'], 'max-tokens', FEEDBACK_PARAMS.max_tokens),
  };
  const budget = flags.budget === undefined ? null : numberFlag(flags.budget, 'budget', 0);
  const apiKey = process.env.OPENAI_API_KEY;
  if (!apiKey) throw new UsageError('set OPENAI_API_KEY to the key for --base-url (any non-empty value for a local server that needs none)');

  const digest = createHash('sha256');
  const candidates: FeedbackCandidate[] = [];
  for (const file of sourceFiles) {
    const text = readFileSync(file, 'utf8');
    digest.update(`${text.length}\u0000${text}`);
    const name = path.basename(file).replace(/\.(jsonl?|json)$/i, '');
    candidates.push(...candidatesFromRows(parseDataset(text).rows, name));
  }
  const plan = planFeedback(candidates);
  if (!plan.rows.length) throw new UsageError(`${sourceFiles.join(', ')} hold no responses to rate (every output is empty)`);
  const say = (text: string) => process.stderr.write(redact(text, [apiKey]) + '\n');
  say(`feedback: ${plan.prompts} prompts, ${plan.responses} responses from ${plan.sources.length} sources`
    + `${plan.single ? `; ${plan.single} prompts have a single response (rated, no pairs)` : ''}`
    + `${plan.empty ? `; ${plan.empty} empty responses left out` : ''}`);

  const spec: JobSpec = {
    name: `feedback ${sourceFiles.join(', ')}`,
    baseURL, lang: 'en', mode: 'online', prompt: 'feedback',
    teacher: { model, params },
    concurrency, maxAttempts: 8, budgetUSD: budget, prices: DEFAULT_PRICES,
    source: { name: sourceFiles.join(','), digest: digest.digest('hex') },
  };
  const journalFile = flags.journal ?? `${outFile}.journal.jsonl`;
  const store = JournalStore.open(journalFile);
  const job = await resumeOrCreate(store, spec, () => newJob(spec, plan.rows), journalFile);
  if (flags['retry-unparseable']) {
    const unparsed = feedbackResults(await store.loadItems(job.id)).unparsed.map((u) => u.index);
    if (unparsed.length) say(`feedback: asking again for ${await requeue(store, job.id, unparsed, true)} unreadable verdicts`);
  }

  const client = new TeacherClient({ baseURL, apiKey });
  const { finished, runner } = await runInTerminal('feedback', store, job.id, client, say, 'rated');

  const items = await store.loadItems(job.id);
  const results = feedbackResults(items);
  const comparison = exportRows(results.rows, 'comparison-json', outFile);
  writeAtomically(outFile, comparison.text);
  writeAtomically(pairsFile, exportRows(results.pairs, 'pairs-jsonl', pairsFile).text);
  say(`feedback: ${progressLine(runner.progress(), 'rated')}`);
  say(`feedback: wrote ${comparison.count} prompts with ${results.scored} scored responses to ${outFile}, `
    + `${results.pairs.length} pairs to ${pairsFile}; ${results.ties} tied pairs dropped`);
  if (results.unparsed.length) {
    say(`feedback: ${results.unparsed.length} verdicts hold no readable score (left out, never counted):`);
    for (const u of results.unparsed.slice(0, 5)) {
      say(`  row ${u.index + 1} (${u.sources.join(', ')}): ${JSON.stringify(u.verdict.slice(0, 160))}`);
    }
    say('feedback: run the same command with --retry-unparseable to ask again for them');
  }
  throwUnlessComplete(finished, runner.progress(), items);
}
