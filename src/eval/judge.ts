// GPT-4 as pairwise judge, as the paper ran it (Figures 4-5): every question is judged twice, once with
// model A's answer shown first and once with B's first, so the judge's position bias cancels out. Verdicts
// are parsed robustly; one that cannot be parsed is kept with its text (shown, retryable) and never counted
// as a score of 0. Every answer from the endpoint goes to a cache keyed by the full request, so rerunning a
// judgement pays nothing.
import { requestKey } from '../teacher/cache';
import type { ChatApi } from '../teacher/client';
import { TeacherError } from '../teacher/errors';
import type { ChatRequest, ChatResult, GenerationParams } from '../teacher/types';
import type { EvalItem } from './eval-set';
import {
  fill, JUDGE_PARAMS, PAIR_V2_SYSTEM, PAIR_V2_TEMPLATE, VICUNA_PROMPTS, VICUNA_SYSTEM, VICUNA_TEMPLATE, vicunaPromptKind,
  type JudgePromptId,
} from './judge-prompts';

export type Side = 'a' | 'b';

/** Which answer was shown first (as Assistant 1 / Assistant A). */
export type Order = Side;

/** What the judge's text says, in the positions it was shown: scores for the Vicuna reviewer, a pick for pair-v2. */
export type ParsedVerdict =
  | { kind: 'scores'; first: number; second: number }
  | { kind: 'pick'; winner: 'first' | 'second' | 'tie' };

const NUM = String.raw`(\d+(?:\.\d+)?)`;
const FIRST_LINE_PAIR = new RegExp(String.raw`^(?:scores?\s*:?)?[\s(\[*]*${NUM}(?:\s*/\s*10)?\s*(?:,|\s|;|and)\s*${NUM}(?:\s*/\s*10)?[\s)\].*]*$`, 'i');
// "Assistant 1's score: 8 ... Assistant 2: 7"; the gap after each name may not run into the other name.
const GAP = String.raw`(?:(?!assistant)[^0-9\n]){0,20}?`;
const NAMED_PAIR = new RegExp(String.raw`assistant\s*1\b${GAP}${NUM}(?:\s*/\s*10)?[\s\S]{0,80}?assistant\s*2\b${GAP}${NUM}`, 'i');
const TUPLE = new RegExp(String.raw`\(\s*${NUM}\s*,\s*${NUM}\s*\)`, 'g');

const inRange = (x: number) => x >= 0 && x <= 10;

/**
 * The two scores of a Vicuna reviewer verdict, or null. Tried in order: the first non-empty line holding just
 * two numbers ("8 7", "8, 7", "(8, 7)", "8/10 7/10"), as the prompt asks; "Assistant 1: 8 ... Assistant 2: 7"
 * near the start; the last Python tuple "(8, 7)", which the math prompt asks for at the end.
 */
export function parseScores(text: string): { first: number; second: number } | null {
  const pick = (a: string, b: string) => {
    const first = Number(a), second = Number(b);
    return inRange(first) && inRange(second) ? { first, second } : null;
  };
  const firstLine = text.split('\n').map((l) => l.trim()).find(Boolean) ?? '';
  const m = FIRST_LINE_PAIR.exec(firstLine);
  if (m) return pick(m[1], m[2]);
  const named = NAMED_PAIR.exec(text.slice(0, 400));
  if (named) return pick(named[1], named[2]);
  const tuples = [...text.matchAll(TUPLE)];
  const last = tuples.at(-1);
  return last ? pick(last[1], last[2]) : null;
}

/** llm_judge's verdict: exactly one of [[A]], [[B]], [[C]] must appear; none or several is unparseable. */
export function parsePick(text: string): 'first' | 'second' | 'tie' | null {
  const found = new Set([...text.matchAll(/\[\[([ABC])\]\]/g)].map((m) => m[1]));
  if (found.size !== 1) return null;
  const [only] = found;
  return only === 'A' ? 'first' : only === 'B' ? 'second' : 'tie';
}

export function parseVerdict(prompt: JudgePromptId, text: string): ParsedVerdict | null {
  if (prompt === 'vicuna') {
    const s = parseScores(text);
    return s && { kind: 'scores', ...s };
  }
  const winner = parsePick(text);
  return winner && { kind: 'pick', winner };
}

/** The request that asks the judge about one question with `first` shown before `second`. */
export function judgeRequest(prompt: JudgePromptId, model: string, item: EvalItem, first: string, second: string, params?: GenerationParams): ChatRequest {
  const question = item.input ? `${item.instruction}\n\n${item.input}` : item.instruction;
  const user = prompt === 'vicuna'
    ? fill(VICUNA_TEMPLATE, { question, answer_1: first, answer_2: second, prompt: VICUNA_PROMPTS[vicunaPromptKind(item.category)] })
    : fill(PAIR_V2_TEMPLATE, { question, answer_a: first, answer_b: second });
  return {
    model,
    messages: [{ role: 'system', content: prompt === 'vicuna' ? VICUNA_SYSTEM : PAIR_V2_SYSTEM }, { role: 'user', content: user }],
    params: params ?? JUDGE_PARAMS[prompt],
  };
}

/** One judgement of one question in one order. */
export interface Verdict {
  questionId: string;
  category: string;
  first: Order;
  /** The judge's text; null when the request itself failed. */
  text: string | null;
  /**
   * Points for A and B: the two scores (Vicuna reviewer), or 1 / 0 / 0.5 each for a win, loss or tie
   * (pair-v2). Null when the verdict could not be parsed or the request failed: never a 0.
   */
  points: { a: number; b: number } | null;
  /** Why the request failed (already redacted), after its retries. */
  error?: string;
  /** Answered from the cache, not the endpoint. */
  cached: boolean;
}

/** Maps a verdict in shown positions onto A and B. */
export function pointsFor(parsed: ParsedVerdict, first: Order): { a: number; b: number } {
  const [p1, p2] = parsed.kind === 'scores'
    ? [parsed.first, parsed.second]
    : parsed.winner === 'tie' ? [0.5, 0.5] : parsed.winner === 'first' ? [1, 0] : [0, 1];
  return first === 'a' ? { a: p1, b: p2 } : { a: p2, b: p1 };
}

/** Where judged answers are kept: the studio's request cache in the browser, a folder of JSON files in Node. */
export interface VerdictCache {
  get(key: string): Promise<ChatResult | undefined>;
  put(key: string, result: ChatResult): Promise<void>;
}

export class MemoryCache implements VerdictCache {
  readonly #entries = new Map<string, ChatResult>();
  async get(key: string) {
    return this.#entries.get(key);
  }
  async put(key: string, result: ChatResult) {
    this.#entries.set(key, result);
  }
}

export interface JudgeOptions {
  chat: ChatApi;
  cache: VerdictCache;
  /** The endpoint, part of the cache key (the same model name elsewhere is another judge). */
  baseURL: string;
  model: string;
  prompt: JudgePromptId;
  params?: GenerationParams;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Tries per request for passing failures (429, 5xx, timeouts). */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onVerdict?: (verdict: Verdict) => void;
  signal?: AbortSignal;
}

export interface JudgeTask {
  item: EvalItem;
  first: Order;
}

export class JudgeInputError extends Error {
  override name = 'JudgeInputError';
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/** Both orders of every question, A first then B first. */
export function judgeTasks(items: readonly EvalItem[]): JudgeTask[] {
  return items.flatMap((item) => [{ item, first: 'a' as const }, { item, first: 'b' as const }]);
}

export class Judge {
  readonly #o: JudgeOptions & Required<Pick<JudgeOptions, 'concurrency' | 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs' | 'sleep'>>;
  /** Requests sent to the endpoint (retries included) and answers taken from the cache, in this session. */
  requests = 0;
  cacheHits = 0;

  constructor(options: JudgeOptions) {
    this.#o = { concurrency: 4, maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 60_000, sleep: defaultSleep, ...options };
  }

  /**
   * Judges every task; `answers` maps each side to its answer per question id. Verdicts come back in task
   * order; `fresh` asks the endpoint again instead of the cache (retrying an unparseable verdict).
   */
  async run(tasks: readonly JudgeTask[], answers: Record<Side, ReadonlyMap<string, string>>, fresh = false): Promise<Verdict[]> {
    for (const side of ['a', 'b'] as const) {
      const missing = tasks.filter((t) => !answers[side].has(t.item.id)).map((t) => t.item.id);
      if (missing.length) throw new JudgeInputError(`answer set ${side.toUpperCase()} has no answer for question(s) ${[...new Set(missing)].slice(0, 5).join(', ')}`);
    }
    const out: (Verdict | null)[] = new Array<Verdict | null>(tasks.length).fill(null);
    let next = 0;
    let fatal = false;
    const worker = async () => {
      while (next < tasks.length && !this.#o.signal?.aborted && !fatal) {
        const i = next++;
        let verdict: Verdict;
        try {
          verdict = await this.#judge(tasks[i], answers, fresh);
        } catch (error) {
          fatal = true;
          throw error;
        }
        // A request cut short by cancelling is not a verdict: it is asked again on the next run.
        if (verdict.error !== undefined && this.#o.signal?.aborted) continue;
        out[i] = verdict;
        this.#o.onVerdict?.(verdict);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#o.concurrency, tasks.length) }, worker));
    return out.filter((v): v is Verdict => v !== null);
  }

  async #judge({ item, first }: JudgeTask, answers: Record<Side, ReadonlyMap<string, string>>, fresh: boolean): Promise<Verdict> {
    const [shownFirst, shownSecond] = first === 'a'
      ? [answers.a.get(item.id)!, answers.b.get(item.id)!]
      : [answers.b.get(item.id)!, answers.a.get(item.id)!];
    const request = judgeRequest(this.#o.prompt, this.#o.model, item, shownFirst, shownSecond, this.#o.params);
    const key = await requestKey(this.#o.baseURL, request);
    const base = { questionId: item.id, category: item.category, first };
    let result = fresh ? undefined : await this.#o.cache.get(key);
    const cached = result !== undefined;
    if (cached) {
      this.cacheHits++;
    } else {
      try {
        result = await this.#request(request);
      } catch (error) {
        // A rejected key fails every request alike: stop the run instead of recording each one.
        if (error instanceof TeacherError && error.kind === 'auth') throw error;
        const message = error instanceof Error ? error.message : String(error);
        return { ...base, text: null, points: null, error: message, cached: false };
      }
      await this.#o.cache.put(key, result);
    }
    const parsed = parseVerdict(this.#o.prompt, result!.text);
    return { ...base, text: result!.text, points: parsed && pointsFor(parsed, first), cached };
  }

  async #request(request: ChatRequest): Promise<ChatResult> {
    const { chat, maxAttempts, baseDelayMs, maxDelayMs, sleep, signal } = this.#o;
    for (let attempt = 1; ; attempt++) {
      this.requests++;
      try {
        return await chat.chat(request, signal);
      } catch (error) {
        if (!(error instanceof TeacherError) || !error.retryable || attempt >= maxAttempts || signal?.aborted) throw error;
        const wait = error.retryAfterMs ?? Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
        await sleep(wait, signal);
      }
    }
  }
}

export interface Totals {
  a_total: number;
  b_total: number;
  /** a_total / b_total, the paper's relative score; null when b_total is 0. */
  ratio: number | null;
}

export interface OrderTotals {
  first: Order;
  a_total: number;
  b_total: number;
}

export interface Outcomes {
  wins: number;
  ties: number;
  losses: number;
}

export interface CategorySummary extends Totals, Outcomes {
  n: number;
}

export interface JudgeSummary extends Totals, Outcomes {
  /** Questions that parsed in both orders: the totals are over these. */
  n: number;
  orders: [OrderTotals, OrderTotals];
  /** Verdicts the parser could not read (shown with their text, retryable); never counted. */
  unparsed: { question_id: string; first: Order; text: string }[];
  /** Requests that failed after their retries. */
  failed: { question_id: string; first: Order; error: string }[];
  categories: Record<string, CategorySummary>;
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : null);

function outcome(a: number, b: number): keyof Outcomes {
  return a > b ? 'wins' : a < b ? 'losses' : 'ties';
}

/**
 * The paper's totals: over the questions judged in both orders, the sum of A's and B's points per order and
 * their mean over the two orders, with the ratio A : B. A question is a win for A when A's points, summed
 * over both orders, are higher (so a pair-v2 judge that flips with the order gives a tie).
 */
export function summarize(verdicts: readonly Verdict[]): JudgeSummary {
  const byQuestion = new Map<string, { category: string; a?: Verdict; b?: Verdict }>();
  for (const v of verdicts) {
    const entry = byQuestion.get(v.questionId) ?? { category: v.category };
    entry[v.first] = v;
    byQuestion.set(v.questionId, entry);
  }
  const orders: [OrderTotals, OrderTotals] = [{ first: 'a', a_total: 0, b_total: 0 }, { first: 'b', a_total: 0, b_total: 0 }];
  const out: Outcomes = { wins: 0, ties: 0, losses: 0 };
  const categories: Record<string, CategorySummary> = {};
  let n = 0;
  for (const [, q] of byQuestion) {
    if (!q.a?.points || !q.b?.points) continue;
    n++;
    orders[0].a_total += q.a.points.a;
    orders[0].b_total += q.a.points.b;
    orders[1].a_total += q.b.points.a;
    orders[1].b_total += q.b.points.b;
    const a = (q.a.points.a + q.b.points.a) / 2;
    const b = (q.a.points.b + q.b.points.b) / 2;
    const o = outcome(a, b);
    out[o]++;
    const c = (categories[q.category || 'uncategorized'] ??= { n: 0, a_total: 0, b_total: 0, ratio: null, wins: 0, ties: 0, losses: 0 });
    c.n++;
    c.a_total += a;
    c.b_total += b;
    c[o]++;
  }
  for (const c of Object.values(categories)) c.ratio = ratio(c.a_total, c.b_total);
  const a_total = (orders[0].a_total + orders[1].a_total) / 2;
  const b_total = (orders[0].b_total + orders[1].b_total) / 2;
  return {
    a_total,
    b_total,
    ratio: ratio(a_total, b_total),
    orders,
    n,
    ...out,
    unparsed: verdicts.filter((v) => v.text !== null && !v.points).map((v) => ({ question_id: v.questionId, first: v.first, text: v.text! })),
    failed: verdicts.filter((v) => v.text === null).map((v) => ({ question_id: v.questionId, first: v.first, error: v.error ?? 'failed' })),
    categories,
  };
}
