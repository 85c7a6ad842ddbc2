// The feedback job (the paper's comparison data): the teacher rates every response to a prompt from 1 to 10 with
// GPT-4-LLM's feedback prompt (prompts.ts), and the scores become a comparison dataset in comparison_data_v2's
// shape {user_input, responses_and_scores: [{response, score, source}]} plus preference pairs
// {prompt, chosen, rejected} from every two responses of a prompt with different scores.
// Each response is one row of an ordinary job, so cache, retries, budget, Batch API and resume are the runner's.
// A verdict whose score cannot be read is kept with its text, shown and retryable; it never counts as a score.
import { alignAnswers, type AnswerRow, type EvalItem } from '../eval/eval-set';
import type { Row, ScoredResponse } from '../data/types';
import type { SourceRow } from './runner';
import type { JobItem } from './types';

// ---------------------------------------------------------------------------------------------------------
// Reading a score

const NUM = String.raw`\d+(?:\.\d+)?`;
/** "8/10", "8 / 10", "8 out of 10", "8 of 10" read as "8". */
const OUT_OF = new RegExp(String.raw`(${NUM})\s*(?:/|out\s+of|of)\s*10(?![\d.])`, 'gi');
/** The scale as the prompt states it ("on a scale of 1 to 10", "(1-10)", "out of 10") says nothing about the score. */
const SCALE = [
  /\b(?:on\s+)?(?:a\s+|the\s+)?(?:scale|range)\s+(?:of\s+|from\s+)?1\s*(?:-|–|—|to)\s*10\b/gi,
  /\b1\s*(?:-|–|—|to)\s*10\b/g,
  /\(?\s*(?:out\s+of|\/)\s*10\b\s*\)?/gi,
  /\bassistant\s*\d+/gi,
];
/** "Score: 8", "Overall score of 8", "Rating - 7", "I rate it 9", "deserves a score of 6". */
const LABELLED = new RegExp(String.raw`\b(?:score|rating|rated|rate|grade)\b[^0-9\n]{0,24}?(${NUM})`, 'i');

const inRange = (x: number) => Number.isFinite(x) && x >= 1 && x <= 10;

function clean(line: string): string {
  let s = line.replace(/[*_`#>|]/g, ' ').replace(OUT_OF, '$1');
  for (const re of SCALE) s = s.replace(re, ' ');
  return s;
}

/**
 * The score a line gives: its labelled number; else the number it starts with ("8", "8 - solid", not "1. First",
 * not "8 9"); else its only number when the line is short ("I give it an 8."). Null when it holds a score that is
 * ambiguous ("8 9"), undefined when it holds none (text that happens to mention a number).
 */
function lineScore(line: string): number | null | undefined {
  const s = clean(line).trim();
  const nums = [...s.matchAll(new RegExp(NUM, 'g'))].map((m) => Number(m[0]));
  if (!nums.length) return undefined;
  const labelled = LABELLED.exec(s);
  if (labelled) return Number(labelled[1]);
  const leading = new RegExp(String.raw`^(${NUM})(.*)$`).exec(s);
  if (leading && !/^\.\s+\S/.test(leading[2])) {
    return /^[\s,;/&]*(?:and\s+)?\d/i.test(leading[2]) ? null : Number(leading[1]);
  }
  return new Set(nums).size === 1 && s.length <= 40 ? nums[0] : undefined;
}

/**
 * The 1-10 score of a feedback verdict, or null when it cannot be read. The prompt asks for the score alone on
 * the first line: the first of the first three lines that gives a score decides ("8", "8.5", "Score: 8/10",
 * "**9**", "I would rate it 7 out of 10", "Assistant 1: 8", "score of 6, covering 2 of 3 points"). Otherwise
 * the whole text is searched for labelled scores and "N/10", which must all agree. A number outside 1-10 is
 * unreadable, never clamped: a 0 is not a score.
 */
export function parseFeedbackScore(text: string): number | null {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  for (const [i, line] of lines.slice(0, 3).entries()) {
    // Below the first line, "2. It is concise." is a list item, not a score.
    const score = lineScore(i ? line.replace(/^\d+[.)]\s+(?=\S)/, '') : line);
    if (score === undefined) continue;
    return score !== null && inRange(score) ? score : null;
  }
  const found = new Set<number>();
  for (const m of clean(text).matchAll(new RegExp(LABELLED.source, 'gi'))) found.add(Number(m[1]));
  for (const m of text.matchAll(OUT_OF)) found.add(Number(m[1]));
  if (found.size !== 1) return null;
  const [only] = found;
  return inRange(only) ? only : null;
}

// ---------------------------------------------------------------------------------------------------------
// What to rate

/** One response to one prompt, and who wrote it. */
export interface FeedbackCandidate {
  instruction: string;
  input: string;
  response: string;
  source: string;
}

const promptKey = (instruction: string, input: string) => `${instruction.trim()}\u0000${input.trim()}`;

/**
 * A dataset's own responses: every scored response of comparison rows (source as recorded), chosen and
 * rejected of preference pairs (sources "chosen" and "rejected"), else the row's output (source: the model that
 * wrote it, when recorded, else `fallbackSource`, the dataset's name).
 */
export function candidatesFromRows(rows: readonly Row[], fallbackSource: string): FeedbackCandidate[] {
  const out: FeedbackCandidate[] = [];
  for (const r of rows) {
    const base = { instruction: r.instruction, input: r.input };
    if (r.responses?.length) for (const x of r.responses) out.push({ ...base, response: x.response, source: x.source });
    else if (r.chosen !== undefined && r.rejected !== undefined) {
      out.push({ ...base, response: r.chosen, source: 'chosen' }, { ...base, response: r.rejected, source: 'rejected' });
    } else out.push({ ...base, response: r.output, source: r.meta?.generatedBy?.model ?? fallbackSource });
  }
  return out;
}

/**
 * Answer sets for one eval set: one response per answer set to each question, source = the set's name. Answers
 * are matched to questions as the judge matches them (by question id, else by text); a set that misses a
 * question throws, naming the set.
 */
export function candidatesFromAnswerSets(items: readonly EvalItem[], sets: readonly { name: string; rows: readonly AnswerRow[] }[]): FeedbackCandidate[] {
  const aligned = sets.map((s) => ({ name: s.name, answers: alignAnswers(items, s.rows, `answer set “${s.name}”`) }));
  const out: FeedbackCandidate[] = [];
  for (const item of items) {
    for (const s of aligned) out.push({ instruction: item.instruction, input: item.input, response: s.answers.get(item.id)!, source: s.name });
  }
  return out;
}

/** Keeps the candidates whose prompt is one of the questions (dataset rows added to answer sets); counts the rest. */
export function onlyQuestions(candidates: readonly FeedbackCandidate[], items: readonly EvalItem[]): { kept: FeedbackCandidate[]; dropped: number } {
  const wanted = new Set(items.map((q) => promptKey(q.instruction, q.input)));
  const kept = candidates.filter((c) => wanted.has(promptKey(c.instruction, c.input)));
  return { kept, dropped: candidates.length - kept.length };
}

export interface FeedbackPlan {
  /** The job's rows: one per distinct response to each prompt. */
  rows: SourceRow[];
  /** Distinct prompts (the comparison rows), in first-seen order. */
  prompts: number;
  /** Responses to rate, one per (prompt, source); a text given by several sources is asked about once. */
  responses: number;
  /** Empty responses: nothing to rate, left out. */
  empty: number;
  /** Prompts with fewer than two responses: rated, but they yield no pair. */
  single: number;
  sources: string[];
}

/** Groups responses by prompt (instruction and input, trimmed) in first-seen order; one row per distinct text. */
export function planFeedback(candidates: readonly FeedbackCandidate[]): FeedbackPlan {
  const groups = new Map<string, { group: number; slots: number; byText: Map<string, SourceRow> }>();
  const rows: SourceRow[] = [];
  const sources = new Set<string>();
  let empty = 0, responses = 0;
  for (const c of candidates) {
    if (!c.response.trim()) {
      empty++;
      continue;
    }
    const key = promptKey(c.instruction, c.input);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { group: groups.size, slots: 0, byText: new Map() }));
    const use = { slot: g.slots++, source: c.source };
    responses++;
    sources.add(c.source);
    const same = g.byText.get(c.response);
    if (same) {
      same.rates!.uses.push(use);
      continue;
    }
    const row: SourceRow = { instruction: c.instruction, input: c.input, rates: { group: g.group, response: c.response, uses: [use] } };
    g.byText.set(c.response, row);
    rows.push(row);
  }
  const single = [...groups.values()].filter((g) => g.slots < 2).length;
  return { rows, prompts: groups.size, responses, empty, single, sources: [...sources] };
}

// ---------------------------------------------------------------------------------------------------------
// What came back

/** A verdict the parser could not read: kept with its text, to be shown and asked again. */
export interface Unparsed {
  index: number;
  instruction: string;
  input: string;
  response: string;
  sources: string[];
  verdict: string;
}

export interface ScoreDistribution {
  /** Every score seen, ascending, always including 1..10 (half scores such as 8.5 get their own column). */
  scores: number[];
  /** Per source, how many of its responses got each score (same order as `scores`). */
  bySource: { source: string; counts: number[]; mean: number; rated: number }[];
}

export interface FeedbackResults {
  /** Comparison rows: every prompt with at least one score, its scored responses in list order. */
  rows: Row[];
  /** Preference pairs: every two scored responses of a prompt with different scores, the higher chosen. */
  pairs: Row[];
  /** Pairs of scored responses with equal scores: dropped. */
  ties: number;
  /** For each prompt (in order), the pairs it yields. */
  pairsPerPrompt: number[];
  /** Responses scored (each use of a text counts). */
  scored: number;
  unparsed: Unparsed[];
  /** Rows that failed (request errors) or are not answered yet: no score, no pair. */
  failed: number;
  pending: number;
  distribution: ScoreDistribution;
}

interface Slot {
  response: string;
  source: string;
  score: number;
}

/** The comparison rows, pairs and counts of a feedback job's rows (any state: unfinished rows just have no score). */
export function feedbackResults(items: readonly JobItem[]): FeedbackResults {
  const prompts: { instruction: string; input: string; slots: (Slot | undefined)[] }[] = [];
  const unparsed: Unparsed[] = [];
  let failed = 0, pending = 0;
  for (const item of items) {
    const rates = item.rates;
    if (!rates) continue;
    const p = (prompts[rates.group] ??= { instruction: item.instruction, input: item.input, slots: [] });
    if (item.status === 'error') failed++;
    else if (item.status === 'pending' || item.output === undefined) pending++;
    if (item.status !== 'done' || item.output === undefined) continue;
    const score = parseFeedbackScore(item.output);
    if (score === null) {
      unparsed.push({
        index: item.index, instruction: item.instruction, input: item.input, response: rates.response,
        sources: rates.uses.map((u) => u.source), verdict: item.output,
      });
      continue;
    }
    for (const use of rates.uses) p.slots[use.slot] = { response: rates.response, source: use.source, score };
  }

  const rows: Row[] = [];
  const pairs: Row[] = [];
  const pairsPerPrompt: number[] = [];
  let ties = 0, scored = 0;
  const bySource = new Map<string, number[]>();
  for (const p of prompts) {
    if (!p) continue; // a prompt none of whose rows are stored (cannot happen for a job made by planFeedback)
    const slots = p.slots.filter((s): s is Slot => s !== undefined);
    scored += slots.length;
    let yielded = 0;
    for (let i = 0; i < slots.length; i++) {
      const seen = bySource.get(slots[i].source) ?? [];
      seen.push(slots[i].score);
      bySource.set(slots[i].source, seen);
      for (let j = i + 1; j < slots.length; j++) {
        const a = slots[i], b = slots[j];
        if (a.score === b.score) {
          ties++;
          continue;
        }
        const [chosen, rejected] = a.score > b.score ? [a, b] : [b, a];
        pairs.push({ instruction: p.instruction, input: p.input, output: chosen.response, chosen: chosen.response, rejected: rejected.response });
        yielded++;
      }
    }
    pairsPerPrompt.push(yielded);
    if (!slots.length) continue;
    const responses: ScoredResponse[] = slots.map((s) => ({ response: s.response, score: s.score, source: s.source }));
    const best = responses.reduce((x, y) => (y.score > x.score ? y : x));
    rows.push({ instruction: p.instruction, input: p.input, output: best.response, responses });
  }

  const scores = [...new Set([...Array.from({ length: 10 }, (_, i) => i + 1), ...[...bySource.values()].flat()])].sort((a, b) => a - b);
  const distribution: ScoreDistribution = {
    scores,
    bySource: [...bySource].map(([source, got]) => ({
      source,
      counts: scores.map((s) => got.filter((g) => g === s).length),
      mean: got.reduce((a, b) => a + b, 0) / got.length,
      rated: got.length,
    })),
  };
  return { rows, pairs, ties, pairsPerPrompt, scored, unparsed, failed, pending, distribution };
}

/** How many prompts yield 0, 1, 2 ... pairs: index k holds the count of prompts with k pairs. */
export function pairsHistogram(pairsPerPrompt: readonly number[]): number[] {
  const out = new Array<number>(Math.max(0, ...pairsPerPrompt) + 1).fill(0);
  for (const n of pairsPerPrompt) out[n]++;
  return out;
}
