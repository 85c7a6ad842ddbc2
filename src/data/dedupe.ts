// Near-duplicate removal as self-instruct does it: walk the rows in order and drop a row when its ROUGE-L
// F-measure with any row already kept exceeds the threshold (0.7). Exact, but not quadratic: ROUGE-L F is
// 2*LCS/(m+n) and LCS <= the multiset overlap of the two token lists, so a duplicate must share at least
// ceil(theta*m/(2-theta)) tokens with the row it duplicates, and prefix filtering (tokens ordered rarest
// first) finds every such candidate; only those get the LCS.
import { fmeasure, lcsLength, tokenize, type RougeOptions } from '../eval/rouge';

export interface DedupeOptions extends RougeOptions {
  /** Drop rows whose ROUGE-L F with a kept row is above this. */
  threshold?: number;
  /** Called every few hundred rows with the number processed. */
  onProgress?: (done: number, total: number) => void;
}

export interface DedupeResult {
  /** keep[i]: row i survives. */
  keep: boolean[];
  /** For a dropped row, the index of the kept row it matched; -1 for kept rows. */
  duplicateOf: Int32Array;
  /** For a dropped row, its ROUGE-L F with that row. */
  score: Float64Array;
}

export function dedupeByRougeL(texts: readonly string[], options: DedupeOptions = {}): DedupeResult {
  const theta = options.threshold ?? 0.7;
  const N = texts.length;
  const tokens = texts.map((t) => tokenize(t, options));

  // Multiset items: the k-th occurrence of a token is its own item, so set overlap bounds multiset overlap.
  const items = tokens.map((toks) => {
    const seen = new Map<string, number>();
    return toks.map((t) => {
      const k = (seen.get(t) ?? 0) + 1;
      seen.set(t, k);
      return k === 1 ? t : `${t}\u0000${k}`;
    });
  });
  const df = new Map<string, number>();
  for (const its of items) for (const it of its) df.set(it, (df.get(it) ?? 0) + 1);
  const rarestFirst = (a: string, b: string) => df.get(a)! - df.get(b)! || (a < b ? -1 : a > b ? 1 : 0);

  const ratio = theta / (2 - theta);
  const prefixLength = (m: number) => {
    const minOverlap = Math.max(1, Math.ceil(ratio * m - 1e-9));
    return Math.max(0, m - minOverlap + 1);
  };

  const index = new Map<string, number[]>();
  const keep = new Array<boolean>(N).fill(true);
  const duplicateOf = new Int32Array(N).fill(-1);
  const score = new Float64Array(N);
  const stamp = new Int32Array(N).fill(-1);

  for (let i = 0; i < N; i++) {
    const m = tokens[i].length;
    if (m > 0) {
      const prefix = items[i].slice().sort(rarestFirst).slice(0, prefixLength(m));
      let match = -1, matchScore = 0;
      outer: for (const it of prefix) {
        const list = index.get(it);
        if (!list) continue;
        for (const j of list) {
          if (stamp[j] === i) continue;
          stamp[j] = i;
          const n = tokens[j].length;
          // F > theta needs min(m, n) > theta*(m+n)/2, i.e. each length above ratio times the other.
          if (n <= ratio * m - 1e-9 || m <= ratio * n - 1e-9) continue;
          const lcs = lcsLength(tokens[j], tokens[i]);
          const f = fmeasure(lcs / m, lcs / n);
          if (f > theta) {
            match = j;
            matchScore = f;
            break outer;
          }
        }
      }
      if (match >= 0) {
        keep[i] = false;
        duplicateOf[i] = match;
        score[i] = matchScore;
      } else {
        for (const it of prefix) {
          const list = index.get(it);
          if (list) list.push(i);
          else index.set(it, [i]);
        }
      }
    }
    if (options.onProgress && (i % 500 === 499 || i === N - 1)) options.onProgress(i + 1, N);
  }
  return { keep, duplicateOf, score };
}
