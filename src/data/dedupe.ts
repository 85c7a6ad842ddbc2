// Near-duplicate removal as self-instruct does it: walk the rows in order and drop a row when its ROUGE-L
// F-measure with any row already kept exceeds the threshold (0.7). Exact, but not quadratic. ROUGE-L F is
// 2*LCS/(m+n) and LCS <= the multiset overlap of the two token lists, so a duplicate must share more than
// theta*(m+n)/2 tokens with the row it duplicates. Prefix filtering (each row's tokens ordered rarest
// first; only a prefix of each kept row is indexed) finds every such candidate, the length and overlap
// bounds discard most of them cheaply, and only the rest get the LCS.
import { fmeasure, tokenize, type RougeOptions } from '../eval/rouge';

export interface DedupeOptions extends RougeOptions {
  /** Drop rows whose ROUGE-L F with a kept row is above this. */
  threshold?: number;
  /** Called every 250 rows and at the end with the number of rows processed. */
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

const EPS = 1e-9;

/** LCS length of two id sequences; `row` is scratch of at least b.length + 1. */
function lcsIds(a: Int32Array, b: Int32Array, row: Uint32Array): number {
  row.fill(0, 0, b.length + 1);
  for (let i = 0; i < a.length; i++) {
    const ai = a[i];
    let diag = 0;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = ai === b[j - 1] ? diag + 1 : up > row[j - 1] ? up : row[j - 1];
      diag = up;
    }
  }
  return row[b.length];
}

/** Size of the intersection of two ascending arrays of distinct ints. */
function overlap(a: Int32Array, b: Int32Array): number {
  let i = 0, j = 0, n = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      n++;
      i++;
      j++;
    } else if (a[i] < b[j]) i++;
    else j++;
  }
  return n;
}

export function dedupeByRougeL(texts: readonly string[], options: DedupeOptions = {}): DedupeResult {
  const steps = dedupeSteps(texts, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** The same, yielding to the event loop every few hundred rows so a page stays responsive. */
export async function dedupeByRougeLAsync(texts: readonly string[], options: DedupeOptions & { signal?: AbortSignal } = {}): Promise<DedupeResult> {
  const steps = dedupeSteps(texts, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise((resolve) => setTimeout(resolve, 0));
    options.signal?.throwIfAborted();
  }
}

/** The dedupe loop; yields the number of rows done every 250 rows. */
function* dedupeSteps(texts: readonly string[], options: DedupeOptions): Generator<number, DedupeResult> {
  const theta = options.threshold ?? 0.7;
  const N = texts.length;
  const vocab = new Map<string, number>();
  const tokens = texts.map((t) => Int32Array.from(tokenize(t, options), (tok) => {
    let id = vocab.get(tok);
    if (id === undefined) vocab.set(tok, (id = vocab.size));
    return id;
  }));

  // Multiset items: the k-th occurrence of a token is an item of its own, so set overlap is multiset overlap.
  const itemIds = new Map<number, number>();
  const itemOf = (tok: number, k: number) => tok * 64 + Math.min(k, 63);
  const rawItems = tokens.map((toks) => {
    const seen = new Map<number, number>();
    return toks.map((t) => {
      const k = seen.get(t) ?? 0;
      seen.set(t, k + 1);
      const key = itemOf(t, k);
      let id = itemIds.get(key);
      if (id === undefined) itemIds.set(key, (id = itemIds.size));
      return id;
    });
  });
  // Rank items rarest first; each row's items sorted by rank put its rarest tokens in its prefix.
  const df = new Int32Array(itemIds.size);
  for (const its of rawItems) for (const it of its) df[it]++;
  const order = Array.from(df.keys()).sort((a, b) => df[a] - df[b] || a - b);
  const rank = new Int32Array(itemIds.size);
  order.forEach((item, r) => (rank[item] = r));
  const items = rawItems.map((its) => Int32Array.from(its, (it) => rank[it]).sort());

  const ratio = theta / (2 - theta);
  const prefixLength = (m: number) => m - Math.max(1, Math.ceil(ratio * m - EPS)) + 1;

  const index = new Map<number, number[]>();
  const keep = new Array<boolean>(N).fill(true);
  const duplicateOf = new Int32Array(N).fill(-1);
  const score = new Float64Array(N);
  const stamp = new Int32Array(N).fill(-1);
  let scratch = new Uint32Array(64);

  for (let i = 0; i < N; i++) {
    const m = tokens[i].length;
    if (m > 0) {
      const prefix = items[i].subarray(0, prefixLength(m));
      let match = -1, matchScore = 0;
      outer: for (const it of prefix) {
        const list = index.get(it);
        if (!list) continue;
        for (const j of list) {
          if (stamp[j] === i) continue;
          stamp[j] = i;
          const n = tokens[j].length;
          // F > theta needs min(m, n) > theta*(m+n)/2 and an overlap above theta*(m+n)/2.
          const need = (theta * (m + n)) / 2 - EPS;
          if (Math.min(m, n) <= need || overlap(items[i], items[j]) <= need) continue;
          if (scratch.length < n + 1) scratch = new Uint32Array(2 * (n + 1));
          const lcs = lcsIds(tokens[i], tokens[j], scratch);
          const f = fmeasure(lcs / n, lcs / m);
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
    if (i % 250 === 249) {
      options.onProgress?.(i + 1, N);
      yield i + 1;
    }
  }
  options.onProgress?.(N, N);
  return { keep, duplicateOf, score };
}
