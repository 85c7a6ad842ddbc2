// The Reports page's tables, as rows for the screen and as CSV / JSON for export. User runs and the paper's
// reference numbers go through the same functions, so an export says which is which.
import { toCsv } from './csv';
import { alignAnswers, type EvalItem } from './eval-set';
import { CRITERIA, type HhhResults } from './hhh';
import { summarize, type JudgeSummary } from './judge';
import { answerLength, judgeStats, questionVerdicts, type AnswerLengths, type JudgeStats, type QuestionVerdict } from './judge-stats';
import { PAPER_FIGURE6, PAPER_FIGURE6_SOURCE, paperRankingFigureFor, type PaperJudgeFigure } from './paper';
import { groupLabel, groupOrder, rankingOf, type RankingGroup } from './ranking';
import { LENGTH_BINS, type LengthBin, type RougeReport } from './rouge-report';
import type { AnswerSetRecord, EvalSetRecord, JudgeRunRecord, RougeRunRecord } from './store';

/** A judged answer set that is one group of a reward-model ranking run, and on which side it was judged. */
export interface JudgeRanking {
  side: 'a' | 'b';
  model: string;
  group: RankingGroup;
  /** The ranking run; null when its answer set was deleted and the group was read from the label. */
  runId: string | null;
}

export interface JudgeRow {
  run: string;
  a: string;
  b: string;
  judge: string;
  prompt: string;
  summary: JudgeSummary;
  /** Intervals, position consistency, length-controlled win rate. */
  stats: JudgeStats;
  /** Set when A (or else B) is a ranking group. */
  ranking: JudgeRanking | null;
  /** The model behind B: the API model that wrote its answers, else its label. The paper's series go beside
   * a run only when this is the paper's opponent (ChatGPT or GPT-4). */
  bModel: string;
}

/** A and B's answers per question id. */
export interface JudgedAnswers {
  a: ReadonlyMap<string, string>;
  b: ReadonlyMap<string, string>;
}

/** The two answers a run judged, while its eval set and both answer sets are stored; else null. */
export function judgedAnswers(run: JudgeRunRecord, items: readonly EvalItem[] | undefined, answerSets: readonly AnswerSetRecord[]): JudgedAnswers | null {
  const [a, b] = [run.answerSets.a, run.answerSets.b].map((id) => answerSets.find((s) => s.id === id));
  if (!items || !a || !b) return null;
  try {
    return { a: alignAnswers(items, a.rows, a.name), b: alignAnswers(items, b.rows, b.name) };
  } catch {
    return null;
  }
}

export function answerLengthsOf(answers: JudgedAnswers): Record<string, AnswerLengths> {
  return Object.fromEntries([...answers.a].map(([id, text]) => [id, { a: answerLength(text), b: answerLength(answers.b.get(id) ?? '') }]));
}

/**
 * A run's per-question verdicts with the answers' lengths: as recorded when it started, else (runs from before
 * lengths were recorded) measured on its answer sets while they are stored, else none.
 */
export function runQuestions(run: JudgeRunRecord, evalSets: readonly EvalSetRecord[] = [], answerSets: readonly AnswerSetRecord[] = []): QuestionVerdict[] {
  const measured = () => {
    const answers = judgedAnswers(run, evalSets.find((s) => s.id === run.evalSetId)?.items, answerSets);
    return answers ? answerLengthsOf(answers) : undefined;
  };
  return questionVerdicts(run.verdicts, run.answerLengths ?? measured());
}

/** One row per judge run; `answerSets` (the stored ones) tell which runs judged a ranking group. */
export function judgeRows(runs: readonly JudgeRunRecord[], answerSets: readonly AnswerSetRecord[] = [], evalSets: readonly EvalSetRecord[] = []): JudgeRow[] {
  const byId = new Map(answerSets.map((s) => [s.id, s]));
  const rankingIn = (r: JudgeRunRecord): JudgeRanking | null => {
    for (const side of ['a', 'b'] as const) {
      const found = rankingOf(byId.get(r.answerSets[side]), r.labels[side]);
      if (found) return { side, ...found };
    }
    return null;
  };
  const modelOf = (id: string, label: string) => {
    const origin = byId.get(id)?.origin;
    return origin?.kind === 'api' ? origin.model : label;
  };
  return runs.map((r) => ({
    run: r.name, a: r.labels.a, b: r.labels.b, judge: r.model, prompt: r.prompt, summary: summarize(r.verdicts),
    stats: judgeStats(runQuestions(r, evalSets, answerSets)), ranking: rankingIn(r), bModel: modelOf(r.answerSets.b, r.labels.b),
  }));
}

export interface RankingFigureRow {
  group: RankingGroup;
  /** "Group 1 (R1)" ... "B (one answer)", as the paper names them. */
  label: string;
  /** The group's total and the opponent's. */
  a: number;
  b: number;
  /** The judge run it comes from. */
  run: string;
  /** The bootstrap 95% interval of a / b; null without one. */
  ci: [number, number] | null;
}

/** The ranking groups of one model judged against one opponent, and the paper's chart to read them beside. */
export interface RankingFigure {
  key: string;
  model: string;
  opponent: string;
  rows: RankingFigureRow[];
  /** The paper's groups against the same opponent; null when the opponent is neither ChatGPT nor GPT-4. */
  paper: PaperJudgeFigure | null;
}

export function rankingGroupName(group: RankingGroup): string {
  return group === 'B' ? 'B (one answer)' : `Group ${group} (${groupLabel(group)})`;
}

/**
 * The paper's Figure 4 ranking charts for the user's runs: judge rows of ranking groups, collected per ranking run
 * and opponent, in the paper's order (R1 .. Rn, then B). `rows` come newest first; a group judged twice against the
 * same opponent shows its newest run.
 */
export function rankingFigures(rows: readonly JudgeRow[]): RankingFigure[] {
  const figures = new Map<string, RankingFigure>();
  for (const r of rows) {
    if (!r.ranking) continue;
    const { side, model, group, runId } = r.ranking;
    const opponent = side === 'a' ? r.b : r.a;
    const key = `${runId ?? model}\u0000${opponent}`;
    let figure = figures.get(key);
    if (!figure) figures.set(key, (figure = { key, model, opponent, rows: [], paper: paperRankingFigureFor(opponent) }));
    if (figure.rows.some((x) => x.group === group)) continue;
    const [a, b] = side === 'a' ? [r.summary.a_total, r.summary.b_total] : [r.summary.b_total, r.summary.a_total];
    // Judged on the B side: every resample's ratio turns round, so the interval's ends do (1 / x is monotone).
    const judged = r.stats.relative_score_ci95;
    const ci: [number, number] | null = side === 'a' ? judged : judged && judged[0] > 0 ? [1 / judged[1], 1 / judged[0]] : null;
    figure.rows.push({ group, label: rankingGroupName(group), a, b, run: r.run, ci });
  }
  for (const f of figures.values()) f.rows.sort((x, y) => groupOrder(x.group) - groupOrder(y.group));
  return [...figures.values()];
}

/** The paper's "Group 3" / "B (one answer)" as R3 / B. */
const paperGroupLabel = (model: string) => model.replace(/^Group (\d+)$/, 'R$1').replace(/^B .*/, 'B');

/** The ranking charts' rows as CSV, the paper's beside each when asked. */
export function rankingCsv(figures: readonly RankingFigure[], withPaper: boolean): string {
  const head = ['model', 'opponent', 'group', 'source', 'a_total', 'b_total', 'ratio', 'run'];
  return toCsv([head, ...figures.flatMap((f) => [
    ...f.rows.map((r) => [f.model, f.opponent, groupLabel(r.group), 'run', r.a, r.b, round(r.b > 0 ? r.a / r.b : null), r.run]),
    ...(withPaper && f.paper ? f.paper.rows.map((p) => ['LLaMA-GPT4 (7B)', f.paper!.opponent, paperGroupLabel(p.model), 'paper', p.a, p.b, round(p.a / p.b), f.paper!.title]) : []),
  ])]);
}

const round = (x: number | null, digits = 4) => (x === null ? null : Number(x.toFixed(digits)));

export function judgeCsv(rows: readonly JudgeRow[]): string {
  const head = ['run', 'model_a', 'model_b', 'judge', 'prompt', 'questions', 'a_total', 'b_total', 'ratio',
    'a_first_a_total', 'a_first_b_total', 'b_first_a_total', 'b_first_b_total', 'wins', 'ties', 'losses', 'unparsed', 'failed',
    'relative_score_ci95_low', 'relative_score_ci95_high', 'win_rate', 'win_rate_ci95_low', 'win_rate_ci95_high',
    'position_consistency', 'first_position_win_rate', 'lc_win_rate', 'length_coefficient'];
  return toCsv([head, ...rows.map(({ run, a, b, judge, prompt, summary: s, stats: t }) => [
    run, a, b, judge, prompt, s.n, s.a_total, s.b_total, round(s.ratio),
    s.orders[0].a_total, s.orders[0].b_total, s.orders[1].a_total, s.orders[1].b_total,
    s.wins, s.ties, s.losses, s.unparsed.length, s.failed.length,
    round(t.relative_score_ci95?.[0] ?? null), round(t.relative_score_ci95?.[1] ?? null), round(t.win_rate),
    round(t.win_rate_ci95?.[0] ?? null), round(t.win_rate_ci95?.[1] ?? null),
    round(t.position_consistency), round(t.first_position_win_rate), round(t.lc_win_rate), round(t.length_coefficient),
  ])]);
}

/** A run's per-question table: points in each order, outcome, lengths, and the two answers when they are stored. */
export function questionsCsv(questions: readonly QuestionVerdict[], answers: JudgedAnswers | null): string {
  const head = ['question_id', 'category', 'a_first_a', 'a_first_b', 'b_first_a', 'b_first_b', 'outcome', 'length_a', 'length_b', 'answer_a', 'answer_b'];
  return toCsv([head, ...questions.map((q) => [
    q.question_id, q.category, q.a_first.a, q.a_first.b, q.b_first.a, q.b_first.b, q.outcome, q.length?.a ?? null, q.length?.b ?? null,
    answers?.a.get(q.question_id) ?? null, answers?.b.get(q.question_id) ?? null,
  ])]);
}

export function questionsJson(questions: readonly QuestionVerdict[], answers: JudgedAnswers | null): string {
  return JSON.stringify(questions.map((q) => ({
    ...q, answer_a: answers?.a.get(q.question_id) ?? null, answer_b: answers?.b.get(q.question_id) ?? null,
  })), null, 2);
}

/** One row per run and category. */
export function judgeCategoryCsv(rows: readonly JudgeRow[]): string {
  const head = ['run', 'category', 'questions', 'a_total', 'b_total', 'ratio', 'wins', 'ties', 'losses'];
  return toCsv([head, ...rows.flatMap(({ run, summary }) => Object.entries(summary.categories).sort(([x], [y]) => x.localeCompare(y))
    .map(([category, c]) => [run, category, c.n, c.a_total, c.b_total, round(c.ratio), c.wins, c.ties, c.losses]))]);
}

export function judgeJson(rows: readonly JudgeRow[]): string {
  return JSON.stringify(rows.map(({ run, a, b, judge, prompt, summary, stats }) => ({ run, model_a: a, model_b: b, judge, prompt, ...summary, ...stats })), null, 2);
}

export interface RougeSeriesRow {
  /** The run's id; null for the paper's series. */
  id: string | null;
  name: string;
  /** "paper" for the published numbers. */
  source: 'run' | 'paper';
  bins: Record<LengthBin, { n: number | null; mean_f: number | null }>;
  all: number | null;
  options: string;
}

export function rougeRows(runs: readonly RougeRunRecord[], withPaper: boolean): RougeSeriesRow[] {
  const mine = runs.map((r): RougeSeriesRow => ({
    id: r.id,
    name: r.name,
    source: 'run',
    bins: r.report.bins,
    all: r.report.mean_f,
    options: [r.stem ? 'stem' : '', r.cjk ? 'cjk' : ''].filter(Boolean).join('+') || 'plain',
  }));
  const paper = PAPER_FIGURE6.map((p): RougeSeriesRow => ({
    id: null,
    name: p.model,
    source: 'paper',
    bins: Object.fromEntries(LENGTH_BINS.map((b) => [b, { n: null, mean_f: p.bins[b] }])) as RougeSeriesRow['bins'],
    all: p.all,
    options: PAPER_FIGURE6_SOURCE,
  }));
  return withPaper ? [...paper, ...mine] : mine;
}

export function rougeCsv(rows: readonly RougeSeriesRow[]): string {
  const head = ['series', 'source', ...LENGTH_BINS.flatMap((b) => [`rougeL ${b}`, `n ${b}`]), 'rougeL all', 'options'];
  return toCsv([head, ...rows.map((r) => [
    r.name, r.source, ...LENGTH_BINS.flatMap((b) => [round(r.bins[b].mean_f), r.bins[b].n]), round(r.all), r.options,
  ])]);
}

/** Per-item scores of one run. */
export function rougeItemsCsv(report: RougeReport): string {
  return toCsv([['id', 'precision', 'recall', 'f'], ...report.items.map((i) => [i.id, round(i.precision, 6), round(i.recall, 6), round(i.f, 6)])]);
}

export function hhhJson(name: string, labels: { a: string; b: string }, results: HhhResults): string {
  return JSON.stringify({
    session: name,
    model_a: labels.a,
    model_b: labels.b,
    ratings: results.n,
    raters: results.raters,
    criteria: Object.fromEntries(CRITERIA.map((c) => [c, { [labels.a]: results.criteria[c].a, [labels.b]: results.criteria[c].b, tie: results.criteria[c].tie }])),
  }, null, 2);
}
