// Answer sets written by a model for an eval set. The local model in the engine answers a few questions per
// generate() call, each prompt formatted by the engine (chat template or Alpaca). An API model answers through
// the teacher's job runner (retries, Retry-After, request cache, budget) and gets each question as a plain user
// message, as FastChat's API answers do, not in the Alpaca template of teacher data.
import type { GenerateRequest, SamplingParams } from '../engine/api';
import { newJob } from '../teacher/runner';
import type { GenerationParams, JobItem, JobRecord, JobSpec, JobStore, PriceTable } from '../teacher/types';
import type { AnswerRow, EvalItem } from './eval-set';
import type { AnswerOrigin, RankingTag } from './store-records';

/** Questions per generate() call: they decode together in one batch. */
export const LOCAL_BATCH = 4;

export interface LocalSettings {
  /** How the engine formats each prompt; both carry the instance input. */
  mode: 'chat' | 'alpaca';
  sampling: SamplingParams;
  maxNewTokens: number;
}

/** The generate() calls that answer every item, LOCAL_BATCH questions each, one sample per question. */
export function localRequests(items: readonly EvalItem[], settings: LocalSettings, batch = LOCAL_BATCH): { items: EvalItem[]; request: GenerateRequest }[] {
  const out: { items: EvalItem[]; request: GenerateRequest }[] = [];
  for (let i = 0; i < items.length; i += batch) {
    const chunk = items.slice(i, i + batch);
    out.push({
      items: chunk,
      request: {
        prompts: chunk.map((q) => ({ text: q.instruction, input: q.input, mode: settings.mode })),
        n: 1,
        maxNewTokens: settings.maxNewTokens,
        sampling: settings.sampling,
      },
    });
  }
  return out;
}

/** One answer row per question, in eval-set order; the id ties it to its question. */
export function answerRows(items: readonly EvalItem[], texts: readonly string[], model: string): AnswerRow[] {
  if (texts.length !== items.length) throw new Error(`${texts.length} answers for ${items.length} questions`);
  return items.map((q, i) => ({ id: q.id, instruction: q.instruction, input: q.input, text: texts[i].trim(), model }));
}

/** The endpoint side of an API answer run: the Teacher page's settings plus the sampling picked here. */
export interface ApiSettings {
  baseURL: string;
  model: string;
  params: GenerationParams;
  concurrency: number;
  maxAttempts: number;
  budgetUSD: number | null;
  prices: PriceTable;
}

export function apiJobSpec(name: string, s: ApiSettings): JobSpec {
  return {
    name, baseURL: s.baseURL, lang: 'en', mode: 'online',
    teacher: { model: s.model, params: s.params },
    concurrency: s.concurrency, maxAttempts: s.maxAttempts, budgetUSD: s.budgetUSD, prices: s.prices,
    source: { name },
  };
}

/** The request cache half of a JobStore (IdbJobStore in the browser). */
export type RequestCache = Pick<JobStore, 'cacheGet' | 'cachePut'>;

/**
 * An API answer run: a job for the runner whose rows are asked as plain questions (so their cache entries are
 * never a teacher job's on the same text). The job and its rows stay in memory: an answer run is not a Teacher
 * job, so the Teacher page neither lists nor resumes it; answers already paid for come back from the shared
 * request cache when a run is started again.
 */
export class AnswerJob {
  readonly store: JobStore;

  private constructor(readonly job: JobRecord, items: JobItem[], cache: RequestCache) {
    let saved = job;
    const rows = new Map(items.map((i) => [i.index, i]));
    this.store = {
      createJob: async () => {},
      loadJob: async (id) => (id === job.id ? saved : undefined),
      saveJob: async (j) => void (saved = j),
      loadItems: async () => [...rows.values()].sort((a, b) => a.index - b.index),
      saveItem: async (item) => void rows.set(item.index, item),
      cacheGet: (key) => cache.cacheGet(key),
      cachePut: (key, result) => cache.cachePut(key, result),
    };
  }

  static create(spec: JobSpec, items: readonly EvalItem[], cache: RequestCache): AnswerJob {
    const { job, items: rows } = newJob({ ...spec, prompt: 'question' }, items.map((q) => ({ instruction: q.instruction, input: q.input })));
    return new AnswerJob(job, rows, cache);
  }

  /** Each question's answer in eval-set order, or null where the run left it unanswered. */
  async answers(): Promise<(string | null)[]> {
    const rows = await this.store.loadItems(this.job.id);
    return rows.map((r) => (r.status === 'done' && r.output !== undefined ? r.output : null));
  }

  /** The first recorded failure (already redacted by the client), for the message when rows failed. */
  async firstError(): Promise<string | null> {
    return (await this.store.loadItems(this.job.id)).find((r) => r.error)?.error ?? null;
  }
}

export class SettingError extends Error {
  override name = 'SettingError';
}

/** Checks a number typed in a form; the message says the range to use. */
export function checkNumber(label: string, value: number, min: number, max: number, integer = false): number {
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new SettingError(`${label} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}.`);
  }
  return value;
}

/** Where an answer set came from, in one line for the list. */
export function originText(origin: AnswerOrigin): string {
  switch (origin.kind) {
    case 'file':
      return origin.name;
    case 'local':
      return [
        `local ${origin.model}${origin.adapter ? ` + ${origin.adapter}` : ''}`,
        `T ${origin.temperature}`, `top-p ${origin.top_p}`, `top-k ${origin.top_k}`, `seed ${origin.seed}`, `${origin.max_new_tokens} new tokens`,
        ...(origin.ranking ? [rankingText(origin.ranking)] : []),
      ].join(' · ');
    case 'api':
      return [`${origin.model} at ${origin.baseURL}`, `T ${origin.temperature}`, `top-p ${origin.top_p}`, `max ${origin.max_tokens} tokens`].join(' · ');
  }
}

/** A ranking group in words: "baseline (sample 1 of 5)" or "rank 2 of 5 by <reward>". */
function rankingText(tag: RankingTag): string {
  return tag.group === 'B' ? `baseline B (sample 1 of ${tag.n})` : `rank ${tag.group} of ${tag.n} by ${tag.reward}`;
}
