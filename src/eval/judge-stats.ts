// How far a judge run's totals can be trusted: per-question verdicts, bootstrap 95% intervals (as Arena-Hard
// reports them), position consistency (as MT-bench's pairwise judge reports it) and a length-controlled win rate
// (as AlpacaEval 2 reports it). Pure functions over verdicts: the CLI, the app and the tests share them.
import { mulberry32 } from '../data/split';
import type { Order, Verdict } from './judge';
import { tokenize } from './rouge';

/** Who won one question: the same side in both orders, or "inconsistent" when the two orders disagree. */
export type QuestionOutcome = 'a' | 'b' | 'tie' | 'inconsistent';

export interface Points {
  a: number;
  b: number;
}

export interface AnswerLengths {
  a: number;
  b: number;
}

/** One question judged in both orders. */
export interface QuestionVerdict {
  question_id: string;
  category: string;
  /** A's and B's points with A shown first. */
  a_first: Points;
  /** A's and B's points with B shown first. */
  b_first: Points;
  outcome: QuestionOutcome;
  /** The two answers' lengths (see answerLength); null when the run did not record them. */
  length: AnswerLengths | null;
}

/** An answer's length: word tokens, each Chinese (CJK) character counting as one. */
export function answerLength(text: string): number {
  return tokenize(text, { cjk: true }).length;
}

const winnerOf = (p: Points): 'a' | 'b' | 'tie' => (p.a > p.b ? 'a' : p.a < p.b ? 'b' : 'tie');

/** The questions whose verdicts parsed in both orders, in the order first seen; `lengths` keyed by question id. */
export function questionVerdicts(verdicts: readonly Verdict[], lengths?: Readonly<Record<string, AnswerLengths>>): QuestionVerdict[] {
  const byQuestion = new Map<string, { category: string; a?: Points | null; b?: Points | null }>();
  for (const v of verdicts) {
    const entry = byQuestion.get(v.questionId) ?? { category: v.category };
    entry[v.first] = v.points;
    byQuestion.set(v.questionId, entry);
  }
  const out: QuestionVerdict[] = [];
  for (const [id, q] of byQuestion) {
    if (!q.a || !q.b) continue;
    const [first, second] = [winnerOf(q.a), winnerOf(q.b)];
    out.push({
      question_id: id, category: q.category || 'uncategorized', a_first: q.a, b_first: q.b,
      outcome: first === second ? first : 'inconsistent', length: lengths?.[id] ?? null,
    });
  }
  return out;
}

/** A's share of one question: a win is 1, a loss 0, and a tie or an inconsistent question (no stable winner) half. */
export function preference(outcome: QuestionOutcome): number {
  return outcome === 'a' ? 1 : outcome === 'b' ? 0 : 0.5;
}

const meanPoints = (q: QuestionVerdict): Points => ({ a: (q.a_first.a + q.b_first.a) / 2, b: (q.a_first.b + q.b_first.b) / 2 });

/** A total / B total over the questions (the paper's relative score); null when B has no points. */
export function relativeScore(questions: readonly QuestionVerdict[]): number | null {
  let a = 0, b = 0;
  for (const q of questions) {
    const p = meanPoints(q);
    a += p.a;
    b += p.b;
  }
  return b > 0 ? a / b : null;
}

/** A's win rate: the mean preference, ties and inconsistent questions counting as half a win; null with no questions. */
export function winRate(questions: readonly QuestionVerdict[]): number | null {
  return questions.length ? questions.reduce((s, q) => s + preference(q.outcome), 0) / questions.length : null;
}

/** Share of questions whose winner (or tie) is the same in both orders; null with no questions. */
export function positionConsistency(questions: readonly QuestionVerdict[]): number | null {
  return questions.length ? questions.filter((q) => q.outcome !== 'inconsistent').length / questions.length : null;
}

/**
 * Over every judgement (each question in each order), the share won by the answer shown first, a tie counting as
 * half: 0.5 means the judge has no position bias. Null with no questions.
 */
export function firstPositionWinRate(questions: readonly QuestionVerdict[]): number | null {
  if (!questions.length) return null;
  const firstShare = (p: Points, first: Order) => preference(winnerOf(first === 'a' ? p : { a: p.b, b: p.a }));
  return questions.reduce((s, q) => s + firstShare(q.a_first, 'a') + firstShare(q.b_first, 'b'), 0) / (2 * questions.length);
}

export type Interval = [low: number, high: number];

export interface BootstrapOptions {
  /** Resamples of the questions; 1,000 unless set. */
  resamples?: number;
  /** The PRNG seed: the same verdicts and seed give the same interval. */
  seed?: number;
}

export const DEFAULT_BOOTSTRAP = { resamples: 1000, seed: 1 } as const;

/** The q-quantile of sorted values, interpolating linearly between neighbours (numpy's default). */
function quantile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at), hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/**
 * The percentile bootstrap 95% interval of `statistic`: the questions resampled with replacement `resamples` times
 * (seeded), the statistic of each resample, and their 2.5th and 97.5th percentiles. Null with no questions or when
 * no resample has a value.
 */
export function bootstrapInterval(
  questions: readonly QuestionVerdict[], statistic: (qs: readonly QuestionVerdict[]) => number | null, options: BootstrapOptions = {},
): Interval | null {
  const { resamples, seed } = { ...DEFAULT_BOOTSTRAP, ...options };
  const n = questions.length;
  if (!n) return null;
  const rand = mulberry32(seed);
  const values: number[] = [];
  const sample: QuestionVerdict[] = new Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) sample[i] = questions[Math.floor(rand() * n)];
    const value = statistic(sample);
    if (value !== null) values.push(value);
  }
  if (!values.length) return null;
  values.sort((x, y) => x - y);
  return [quantile(values, 0.025), quantile(values, 0.975)];
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export interface LengthControlled {
  /** The win rate at a length difference of zero. */
  lc_win_rate: number;
  /** φ: the fitted weight of the (tanh of the standardized) length difference; > 0 when the judge favours the longer answer. */
  length_coefficient: number;
}

/** Ridge on the coefficients: keeps the fit finite when length alone separates the verdicts. */
const RIDGE = 1e-4;

/**
 * The length-controlled win rate of AlpacaEval 2 (Dubois et al. 2024, "Length-Controlled AlpacaEval: A Simple Way
 * to Debias Automatic Evaluators", arXiv 2404.04475), for one pair of models without its per-instruction term:
 * fit P(A preferred on question i) = sigmoid(θ + φ · tanh(d_i / sd(d))), where d_i = length(A_i) - length(B_i),
 * to the per-question preferences (1, 0.5 or 0; see `preference`) by maximum likelihood (Newton's method on the
 * soft-label log-loss), then read the win rate at d = 0: sigmoid(θ). Like AlpacaEval, d is divided by its standard
 * deviation (not centred, so zero stays "same length") and bounded by tanh. Null without lengths for every question.
 */
export function lengthControlledWinRate(questions: readonly QuestionVerdict[]): LengthControlled | null {
  if (!questions.length || questions.some((q) => !q.length)) return null;
  const d = questions.map((q) => q.length!.a - q.length!.b);
  const mean = d.reduce((s, x) => s + x, 0) / d.length;
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / d.length);
  const x = d.map((di) => (sd > 0 ? Math.tanh(di / sd) : 0));
  const y = questions.map((q) => preference(q.outcome));
  let theta = 0, phi = 0;
  for (let iter = 0; iter < 100; iter++) {
    // Gradient and Hessian of the mean log-loss plus the ridge, in (θ, φ).
    let g0 = RIDGE * theta, g1 = RIDGE * phi, h00 = RIDGE, h01 = 0, h11 = RIDGE;
    for (let i = 0; i < x.length; i++) {
      const p = sigmoid(theta + phi * x[i]);
      const r = (p - y[i]) / x.length, w = (p * (1 - p)) / x.length;
      g0 += r;
      g1 += r * x[i];
      h00 += w;
      h01 += w * x[i];
      h11 += w * x[i] * x[i];
    }
    const det = h00 * h11 - h01 * h01;
    const step0 = (h11 * g0 - h01 * g1) / det, step1 = (h00 * g1 - h01 * g0) / det;
    theta -= step0;
    phi -= step1;
    if (Math.abs(step0) + Math.abs(step1) < 1e-10) break;
  }
  return { lc_win_rate: sigmoid(theta), length_coefficient: phi };
}

/** What a run's totals alone do not say, as `cli judge` prints it and the app shows it. */
export interface JudgeStats {
  win_rate: number | null;
  relative_score_ci95: Interval | null;
  win_rate_ci95: Interval | null;
  position_consistency: number | null;
  first_position_win_rate: number | null;
  lc_win_rate: number | null;
  length_coefficient: number | null;
  bootstrap: { resamples: number; seed: number };
}

export function judgeStats(questions: readonly QuestionVerdict[], options: BootstrapOptions = {}): JudgeStats {
  const bootstrap = { ...DEFAULT_BOOTSTRAP, ...options };
  const lc = lengthControlledWinRate(questions);
  return {
    win_rate: winRate(questions),
    relative_score_ci95: bootstrapInterval(questions, relativeScore, bootstrap),
    win_rate_ci95: bootstrapInterval(questions, winRate, bootstrap),
    position_consistency: positionConsistency(questions),
    first_position_win_rate: firstPositionWinRate(questions),
    lc_win_rate: lc?.lc_win_rate ?? null,
    length_coefficient: lc?.length_coefficient ?? null,
    bootstrap,
  };
}
