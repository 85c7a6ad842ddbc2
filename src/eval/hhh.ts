// Blind human A/B rating on helpfulness, honesty and harmlessness, as in the paper's Figure 3. A session pairs
// two answer sets over an eval set; each item's left/right placement is drawn from the session's seed and
// recorded, so raters never learn which model is which and results map back to A and B. Ratings are stored
// per rater, and export/import carries the whole session so a workshop can merge files from many machines.
import { z } from 'zod';
import { toCsv } from './csv';
import type { EvalItem } from './eval-set';
import { mulberry32 } from '../data/split';

export const CRITERIA = ['helpful', 'honest', 'harmless'] as const;
export type Criterion = (typeof CRITERIA)[number];

/** What the rater saw: the left answer, the right one, or neither better. */
export type ShownChoice = 'left' | 'right' | 'tie';
/** The same choice in terms of the answer sets. */
export type Choice = 'a' | 'b' | 'tie';

export interface HhhItem extends EvalItem {
  a: string;
  b: string;
  /** Which answer set is shown on the left. */
  left: 'a' | 'b';
}

export interface HhhSession {
  id: string;
  name: string;
  createdAt: number;
  seed: number;
  /** Names of the two answer sets; never shown while rating. */
  labels: { a: string; b: string };
  evalSet: string;
  items: HhhItem[];
}

export interface HhhRating {
  sessionId: string;
  rater: string;
  itemId: string;
  /** A criterion is missing until the rater answers it. */
  helpful?: Choice;
  honest?: Choice;
  harmless?: Choice;
  comment: string;
  ratedAt: number;
}


/** Left placement of each of n items: a fair coin per item from the seed. */
export function placements(seed: number, n: number): ('a' | 'b')[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => (rng() < 0.5 ? 'a' : 'b'));
}

export class HhhSessionError extends Error {
  override name = 'HhhSessionError';
}

export function newSession(options: {
  id: string;
  name: string;
  seed: number;
  evalSet: string;
  labels: { a: string; b: string };
  items: readonly EvalItem[];
  answers: { a: ReadonlyMap<string, string>; b: ReadonlyMap<string, string> };
  now?: number;
}): HhhSession {
  const { items, answers } = options;
  if (!items.length) throw new HhhSessionError('the eval set is empty: pick one with at least one question');
  const left = placements(options.seed, items.length);
  return {
    id: options.id,
    name: options.name,
    createdAt: options.now ?? Date.now(),
    seed: options.seed,
    labels: options.labels,
    evalSet: options.evalSet,
    items: items.map((item, i) => {
      const a = answers.a.get(item.id), b = answers.b.get(item.id);
      if (a === undefined || b === undefined) throw new HhhSessionError(`question "${item.id}" has no answer in answer set ${a === undefined ? 'A' : 'B'}`);
      return { ...item, a, b, left: left[i] };
    }),
  };
}

/** What the rater pressed, as an answer-set choice for this item. */
export function toChoice(item: HhhItem, shown: ShownChoice): Choice {
  if (shown === 'tie') return 'tie';
  return shown === 'left' ? item.left : item.left === 'a' ? 'b' : 'a';
}

export function toShown(item: HhhItem, choice: Choice): ShownChoice {
  if (choice === 'tie') return 'tie';
  return choice === item.left ? 'left' : 'right';
}

export const isComplete = (r: HhhRating | undefined): boolean => !!r && CRITERIA.every((c) => r[c] !== undefined);

export type Counts = Record<Choice, number>;

export interface HhhResults {
  /** Complete ratings counted (one per rater and item). */
  n: number;
  raters: string[];
  criteria: Record<Criterion, Counts>;
}

/** "12 complete ratings from 2 raters: Ada, Bob." */
export function ratingsLine(results: HhhResults): string {
  const { n, raters } = results;
  return `${n} complete rating${n === 1 ? '' : 's'} from ${raters.length} rater${raters.length === 1 ? '' : 's'}${raters.length ? `: ${raters.join(', ')}` : ''}.`;
}

/** Counts per criterion over complete ratings, of every rater or just `rater`. */
export function hhhResults(ratings: readonly HhhRating[], rater?: string): HhhResults {
  const criteria = Object.fromEntries(CRITERIA.map((c) => [c, { a: 0, b: 0, tie: 0 }])) as Record<Criterion, Counts>;
  const raters = new Set<string>();
  let n = 0;
  for (const r of ratings) {
    if (rater !== undefined && r.rater !== rater) continue;
    if (!isComplete(r)) continue;
    n++;
    raters.add(r.rater);
    for (const c of CRITERIA) criteria[c][r[c]!]++;
  }
  return { n, raters: [...raters].sort(), criteria };
}

export const RATINGS_FORMAT = 'instruct-studio/hhh-ratings';

export interface RatingsFile {
  format: typeof RATINGS_FORMAT;
  version: 1;
  session: HhhSession;
  ratings: HhhRating[];
}

export function exportRatings(session: HhhSession, ratings: readonly HhhRating[]): RatingsFile {
  return { format: RATINGS_FORMAT, version: 1, session, ratings: ratings.filter((r) => r.sessionId === session.id) };
}

const choice = z.enum(['a', 'b', 'tie']);
const ratingsFile = z.object({
  format: z.literal(RATINGS_FORMAT),
  version: z.literal(1),
  session: z.object({
    id: z.string().min(1),
    name: z.string(),
    createdAt: z.number(),
    seed: z.number(),
    labels: z.object({ a: z.string(), b: z.string() }),
    evalSet: z.string(),
    items: z.array(z.object({
      id: z.string(), category: z.string(), instruction: z.string(), input: z.string(),
      a: z.string(), b: z.string(), left: z.enum(['a', 'b']),
    })).min(1),
  }),
  ratings: z.array(z.object({
    sessionId: z.string(), rater: z.string().min(1), itemId: z.string(),
    helpful: choice.optional(), honest: choice.optional(), harmless: choice.optional(),
    comment: z.string(), ratedAt: z.number(),
  })),
});

export class RatingsImportError extends Error {
  override name = 'RatingsImportError';
}

/** Validates an exported ratings file: its session, and ratings that all belong to that session's items. */
export function parseRatingsFile(text: string): RatingsFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RatingsImportError('not a JSON file: pick a file exported from the Human eval page');
  }
  const parsed = ratingsFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RatingsImportError(`not a ratings export (${issue.path.join('.') || 'file'}: ${issue.message}): pick a file exported from the Human eval page`);
  }
  const file = parsed.data as RatingsFile;
  const ids = new Set(file.session.items.map((i) => i.id));
  for (const r of file.ratings) {
    if (r.sessionId !== file.session.id || !ids.has(r.itemId)) {
      throw new RatingsImportError(`rating of item "${r.itemId}" by ${r.rater} does not belong to session "${file.session.name}"`);
    }
  }
  return file;
}

/** A session imported on top of a local one must be the same session: same items, same placements. */
export function assertSameSession(local: HhhSession, incoming: HhhSession): void {
  const same = local.items.length === incoming.items.length
    && local.items.every((item, i) => item.id === incoming.items[i].id && item.left === incoming.items[i].left);
  if (!same) {
    throw new RatingsImportError(`session "${incoming.name}" has the id of a local session but other items or placements; it cannot be merged`);
  }
}

/** Merges ratings by (rater, item): the later one wins. */
export function mergeRatings(local: readonly HhhRating[], incoming: readonly HhhRating[]): { merged: HhhRating[]; added: number; updated: number } {
  const key = (r: HhhRating) => `${r.rater}\u0000${r.itemId}`;
  const byKey = new Map(local.map((r) => [key(r), r]));
  let added = 0, updated = 0;
  for (const r of incoming) {
    const old = byKey.get(key(r));
    if (!old) added++;
    else if (r.ratedAt > old.ratedAt) updated++;
    else continue;
    byKey.set(key(r), r);
  }
  return { merged: [...byKey.values()], added, updated };
}

/** The results as CSV rows: criterion, A, B, tie, and each as a share. */
export function hhhCsv(results: HhhResults, labels: { a: string; b: string }): string {
  const head = ['criterion', labels.a, labels.b, 'tie', `${labels.a} %`, `${labels.b} %`, 'tie %'];
  const rows = CRITERIA.map((c) => {
    const { a, b, tie } = results.criteria[c];
    const total = a + b + tie;
    const pct = (x: number) => (total ? ((100 * x) / total).toFixed(2) : '');
    return [c, a, b, tie, pct(a), pct(b), pct(tie)];
  });
  return toCsv([head, ...rows]);
}
