// GPT-4 as pairwise judge, as the paper ran it (Figures 4-5): every question is judged twice, once with
// model A's answer shown first and once with B's first, so the judge's position bias cancels out. Verdicts
// are parsed robustly; one that cannot be parsed is kept with its text (shown, retryable) and never counted
// as a score of 0. Judging is a job for the teacher's job runner (one row per question and order): retries
// honouring Retry-After, the budget, the cost meter, the request cache (a rerun pays nothing) and the Batch API.
import type { SourceRow } from '../teacher/runner';
import type { GenerationParams, JobItem, JobMode, JobSpec, PriceTable } from '../teacher/types';
import type { EvalItem } from './eval-set';
import { JUDGE_PARAMS, type JudgePromptId } from './judge-prompts';

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
  /** Answered without paying: from the request cache, not the endpoint. */
  cached: boolean;
}

/** Maps a verdict in shown positions onto A and B. */
export function pointsFor(parsed: ParsedVerdict, first: Order): { a: number; b: number } {
  const [p1, p2] = parsed.kind === 'scores'
    ? [parsed.first, parsed.second]
    : parsed.winner === 'tie' ? [0.5, 0.5] : parsed.winner === 'first' ? [1, 0] : [0, 1];
  return first === 'a' ? { a: p1, b: p2 } : { a: p2, b: p1 };
}

export interface JudgeTask {
  item: EvalItem;
  first: Order;
}

export class JudgeInputError extends Error {
  override name = 'JudgeInputError';
}

/** Both orders of every question, A first then B first. */
export function judgeTasks(items: readonly EvalItem[]): JudgeTask[] {
  return items.flatMap((item) => [{ item, first: 'a' as const }, { item, first: 'b' as const }]);
}

/** How a judge job runs: the judge's endpoint and prompt, and the runner's settings (the Teacher page's budget). */
export interface JudgeSettings {
  baseURL: string;
  model: string;
  prompt: JudgePromptId;
  /** Sampling; the prompt's own (JUDGE_PARAMS) when left out. */
  params?: GenerationParams;
  mode: JobMode;
  concurrency: number;
  maxAttempts: number;
  budgetUSD: number | null;
  prices: PriceTable;
}

/** A judge job for the runner; `runId` ties its rows to the judge run their verdicts are stored in. */
export function judgeJobSpec(name: string, runId: string, s: JudgeSettings): JobSpec {
  return {
    name, baseURL: s.baseURL, lang: 'en', mode: s.mode, prompt: 'judge', judge: { prompt: s.prompt, runId },
    teacher: { model: s.model, params: s.params ?? JUDGE_PARAMS[s.prompt] },
    concurrency: s.concurrency, maxAttempts: s.maxAttempts, budgetUSD: s.budgetUSD, prices: s.prices,
    source: { name },
  };
}

/** One job row per task, with its two answers in the order shown. Refuses (before any request) a missing answer. */
export function judgeSources(tasks: readonly JudgeTask[], answers: Record<Side, ReadonlyMap<string, string>>): SourceRow[] {
  for (const side of ['a', 'b'] as const) {
    const missing = tasks.filter((t) => !answers[side].has(t.item.id)).map((t) => t.item.id);
    if (missing.length) throw new JudgeInputError(`answer set ${side.toUpperCase()} has no answer for question(s) ${[...new Set(missing)].slice(0, 5).join(', ')}`);
  }
  return tasks.map(({ item, first }) => {
    const [a, b] = [answers.a.get(item.id)!, answers.b.get(item.id)!];
    return {
      instruction: item.instruction, input: item.input,
      judges: { questionId: item.id, category: item.category, first, shown: first === 'a' ? [a, b] : [b, a] },
    };
  });
}

/** A judge job row as a verdict: answered (parsed, or kept unparsed), failed after its retries, or null while pending. */
export function verdictOf(spec: JobSpec, item: JobItem): Verdict | null {
  const pair = item.judges;
  if (!pair || !spec.judge) return null;
  const base = { questionId: pair.questionId, category: pair.category, first: pair.first };
  if (item.status === 'done' && item.output !== undefined) {
    const parsed = parseVerdict(spec.judge.prompt, item.output);
    return { ...base, text: item.output, points: parsed && pointsFor(parsed, pair.first), cached: item.tokensIn === 0 };
  }
  if (item.status === 'error') return { ...base, text: null, points: null, error: item.error ?? 'failed', cached: false };
  return null;
}

/** A judge run's task key: the question and the side shown first. */
export const taskKey = (questionId: string, first: Order) => `${questionId}\u0000${first}`;

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
