// The Reports page's tables, as rows for the screen and as CSV / JSON for export. User runs and the paper's
// reference numbers go through the same functions, so an export says which is which.
import { toCsv } from './csv';
import { CRITERIA, type HhhResults } from './hhh';
import { summarize, type JudgeSummary } from './judge';
import { PAPER_FIGURE6, PAPER_FIGURE6_SOURCE } from './paper';
import { LENGTH_BINS, type LengthBin, type RougeReport } from './rouge-report';
import type { JudgeRunRecord, RougeRunRecord } from './store';

export interface JudgeRow {
  run: string;
  a: string;
  b: string;
  judge: string;
  prompt: string;
  summary: JudgeSummary;
}

export function judgeRows(runs: readonly JudgeRunRecord[]): JudgeRow[] {
  return runs.map((r) => ({ run: r.name, a: r.labels.a, b: r.labels.b, judge: r.model, prompt: r.prompt, summary: summarize(r.verdicts) }));
}

const round = (x: number | null, digits = 4) => (x === null ? null : Number(x.toFixed(digits)));

export function judgeCsv(rows: readonly JudgeRow[]): string {
  const head = ['run', 'model_a', 'model_b', 'judge', 'prompt', 'questions', 'a_total', 'b_total', 'ratio',
    'a_first_a_total', 'a_first_b_total', 'b_first_a_total', 'b_first_b_total', 'wins', 'ties', 'losses', 'unparsed', 'failed'];
  return toCsv([head, ...rows.map(({ run, a, b, judge, prompt, summary: s }) => [
    run, a, b, judge, prompt, s.n, s.a_total, s.b_total, round(s.ratio),
    s.orders[0].a_total, s.orders[0].b_total, s.orders[1].a_total, s.orders[1].b_total,
    s.wins, s.ties, s.losses, s.unparsed.length, s.failed.length,
  ])]);
}

/** One row per run and category. */
export function judgeCategoryCsv(rows: readonly JudgeRow[]): string {
  const head = ['run', 'category', 'questions', 'a_total', 'b_total', 'ratio', 'wins', 'ties', 'losses'];
  return toCsv([head, ...rows.flatMap(({ run, summary }) => Object.entries(summary.categories).sort(([x], [y]) => x.localeCompare(y))
    .map(([category, c]) => [run, category, c.n, c.a_total, c.b_total, round(c.ratio), c.wins, c.ties, c.losses]))]);
}

export function judgeJson(rows: readonly JudgeRow[]): string {
  return JSON.stringify(rows.map(({ run, a, b, judge, prompt, summary }) => ({ run, model_a: a, model_b: b, judge, prompt, ...summary })), null, 2);
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
