// ROUGE with Google rouge-score semantics: lower-case, every run of characters outside [a-z0-9] becomes a
// separator, tokens longer than 3 characters optionally Porter-stemmed (NLTK's default mode), and
// F = 2PR / (P + R). score(target, prediction) takes the reference first, as rouge-score does.
// The `cjk` option keeps each CJK character as a token of its own (rouge-score would drop them all), so
// Chinese and Japanese text can be scored the same way.
import { porterStem } from './porter';

export interface RougeOptions {
  /** Porter-stem tokens longer than 3 characters (rouge-score's use_stemmer). */
  stem?: boolean;
  /** Keep CJK ideographs, kana and hangul syllables as one token per character. */
  cjk?: boolean;
}

export interface Score {
  precision: number;
  recall: number;
  fmeasure: number;
}

export type RougeType = 'rouge1' | 'rouge2' | 'rougeL' | 'rougeLsum';

// One token per Han, kana or hangul character; CJK punctuation is not in these scripts, so it separates tokens
// like any other symbol.
const CJK_TOKEN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]|[a-z0-9]+/gu;
const ALNUM_RUN = /[a-z0-9]+/g;

export function tokenize(text: string, options: RougeOptions = {}): string[] {
  const lower = text.toLowerCase();
  const tokens = lower.match(options.cjk ? CJK_TOKEN : ALNUM_RUN) ?? [];
  if (!options.stem) return tokens;
  // CJK tokens are single characters, so the length test leaves them unstemmed.
  return tokens.map((t) => (t.length > 3 ? porterStem(t) : t));
}

export function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

function ngramCounts(tokens: string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const gram = n === 1 ? tokens[i] : tokens.slice(i, i + n).join(' ');
    counts.set(gram, (counts.get(gram) ?? 0) + 1);
  }
  return counts;
}

export function rougeNTokens(target: string[], prediction: string[], n: number): Score {
  const t = ngramCounts(target, n);
  const p = ngramCounts(prediction, n);
  let overlap = 0;
  for (const [gram, count] of p) overlap += Math.min(count, t.get(gram) ?? 0);
  const targetTotal = Math.max(0, target.length - n + 1);
  const predictionTotal = Math.max(0, prediction.length - n + 1);
  const precision = overlap / Math.max(predictionTotal, 1);
  const recall = overlap / Math.max(targetTotal, 1);
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** Length of the longest common subsequence, in O(min(m, n)) memory. */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length < b.length) [a, b] = [b, a];
  const n = b.length;
  let prev = new Uint32Array(n + 1);
  let cur = new Uint32Array(n + 1);
  for (let i = 1; i <= a.length; i++) {
    const ai = a[i - 1];
    for (let j = 1; j <= n; j++) {
      cur[j] = ai === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[n];
}

export function rougeLTokens(target: string[], prediction: string[]): Score {
  if (!target.length || !prediction.length) return { precision: 0, recall: 0, fmeasure: 0 };
  const lcs = lcsLength(target, prediction);
  const precision = lcs / prediction.length;
  const recall = lcs / target.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** Indices into `ref` of one LCS with `can`, backtracked the way rouge-score does (ties move along `ref`). */
function lcsIndices(ref: string[], can: string[]): number[] {
  const rows = ref.length + 1, cols = can.length + 1;
  const table = new Uint32Array(rows * cols);
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      table[i * cols + j] = ref[i - 1] === can[j - 1]
        ? table[(i - 1) * cols + j - 1] + 1
        : Math.max(table[(i - 1) * cols + j], table[i * cols + j - 1]);
    }
  }
  const out: number[] = [];
  let i = ref.length, j = can.length;
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      out.push(i - 1);
      i--; j--;
    } else if (table[i * cols + j - 1] > table[(i - 1) * cols + j]) {
      j--;
    } else {
      i--;
    }
  }
  return out.reverse();
}

/** Summary-level ROUGE-L: union LCS of each reference sentence against every candidate sentence. */
export function rougeLsumTokens(target: string[][], prediction: string[][]): Score {
  const m = target.reduce((s, x) => s + x.length, 0);
  const n = prediction.reduce((s, x) => s + x.length, 0);
  if (!m || !n) return { precision: 0, recall: 0, fmeasure: 0 };
  const countsR = new Map<string, number>();
  const countsC = new Map<string, number>();
  for (const s of target) for (const t of s) countsR.set(t, (countsR.get(t) ?? 0) + 1);
  for (const s of prediction) for (const t of s) countsC.set(t, (countsC.get(t) ?? 0) + 1);
  let hits = 0;
  for (const ref of target) {
    const union = new Set<number>();
    for (const can of prediction) for (const i of lcsIndices(ref, can)) union.add(i);
    for (const i of [...union].sort((a, b) => a - b)) {
      const t = ref[i];
      const r = countsR.get(t) ?? 0, c = countsC.get(t) ?? 0;
      if (r > 0 && c > 0) {
        hits++;
        countsR.set(t, r - 1);
        countsC.set(t, c - 1);
      }
    }
  }
  const precision = hits / n, recall = hits / m;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

function sentences(text: string, options: RougeOptions): string[][] {
  return text.split('\n').filter((s) => s.length > 0).map((s) => tokenize(s, options));
}

/** Scores `prediction` against the reference `target` for each requested ROUGE type. */
export function rouge<T extends RougeType>(
  target: string,
  prediction: string,
  types: readonly T[],
  options: RougeOptions = {},
): Record<T, Score> {
  const out = {} as Record<T, Score>;
  let t: string[] | undefined, p: string[] | undefined;
  for (const type of types) {
    if (type === 'rougeLsum') {
      out[type] = rougeLsumTokens(sentences(target, options), sentences(prediction, options));
      continue;
    }
    t ??= tokenize(target, options);
    p ??= tokenize(prediction, options);
    out[type] = type === 'rougeL' ? rougeLTokens(t, p) : rougeNTokens(t, p, type === 'rouge1' ? 1 : 2);
  }
  return out;
}

/** ROUGE-L F-measure of two texts, the number self-instruct compares with 0.7. */
export function rougeL(target: string, prediction: string, options: RougeOptions = {}): number {
  return rougeLTokens(tokenize(target, options), tokenize(prediction, options)).fmeasure;
}
