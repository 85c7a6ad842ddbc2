// Dataset statistics as in the paper's Figure 1: the root verb of each instruction with its direct object
// (found with the compromise NLP library: the first main verb of the first sentence, and the head noun of
// the noun phrase right after it), and output-length histograms of two datasets on shared bins.
import nlp from 'compromise';

export interface VerbNoun {
  verb: string;
  noun: string;
}

interface TermJson {
  text: string;
  normal: string;
  root?: string;
  post: string;
  tags: string[];
}

// `root` (singular noun, infinitive verb) is computed by compute('root'); compromise's types omit the option.
const TERM_FIELDS = { terms: { root: true, normal: true } };
const STOP_TAGS = ['Preposition', 'Conjunction', 'QuestionWord', 'Verb', 'Copula'];
const NOUN_PHRASE_TAGS = ['Noun', 'Adjective', 'Value', 'Determiner', 'Adverb', 'Possessive'];

/** The root verb (infinitive) and its direct object (singular head noun) of an instruction, or null. */
export function verbNoun(instruction: string): VerbNoun | null {
  const doc = nlp(instruction.slice(0, 400));
  doc.compute('root');
  const sentences = doc.json(TERM_FIELDS) as { terms: TermJson[] }[];
  const terms = sentences[0]?.terms;
  if (!terms) return null;
  const has = (t: TermJson, tag: string) => t.tags.includes(tag);
  let v = -1;
  for (let i = 0; i < terms.length; i++) {
    const t = terms[i];
    if (!has(t, 'Verb')) continue;
    if (has(t, 'Copula')) return null; // "What is ...": a question, no verb-object pair
    if (has(t, 'Modal') || has(t, 'Auxiliary')) continue;
    if (has(t, 'Infinitive') || has(t, 'Imperative')) v = i;
    break;
  }
  if (v < 0) return null;
  const verb = (terms[v].root ?? terms[v].normal).toLowerCase();
  let head: TermJson | null = null;
  for (let i = v + 1; i < terms.length; i++) {
    const t = terms[i];
    if (has(t, 'Pronoun')) {
      if (head) break;
      continue; // "write me a story": skip the indirect object
    }
    if (STOP_TAGS.some((tag) => has(t, tag)) && !has(t, 'Noun')) break;
    if (!NOUN_PHRASE_TAGS.some((tag) => has(t, tag))) break;
    if (has(t, 'Noun')) head = t;
    if (/[.,;:!?]/.test(t.post)) break;
  }
  if (!head) return null;
  const noun = (head.root ?? head.normal).toLowerCase().replace(/[^\p{L}\p{N}-]+/gu, '');
  return noun && /^\p{L}/u.test(verb) ? { verb, noun } : null;
}

export interface VerbNounStats {
  /** Instructions analysed. */
  total: number;
  /** Instructions with a verb-object pair. */
  withPair: number;
  /** Most frequent verbs, each with its most frequent objects. */
  verbs: { verb: string; count: number; nouns: { noun: string; count: number }[] }[];
  /** Most frequent pairs overall. */
  pairs: { verb: string; noun: string; count: number }[];
  /** Every pair's count, keyed "verb noun", to compare one dataset's top pairs with another's. */
  counts: Record<string, number>;
}

export interface VerbNounOptions {
  topVerbs?: number;
  nounsPerVerb?: number;
  topPairs?: number;
  /** Yield to the event loop every this many rows, so a page stays responsive. */
  chunk?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export async function verbNounStats(instructions: readonly string[], options: VerbNounOptions = {}): Promise<VerbNounStats> {
  const { topVerbs = 20, nounsPerVerb = 4, topPairs = 25, chunk = 250 } = options;
  const byVerb = new Map<string, Map<string, number>>();
  let withPair = 0;
  for (let i = 0; i < instructions.length; i++) {
    const pair = verbNoun(instructions[i]);
    if (pair) {
      withPair++;
      let nouns = byVerb.get(pair.verb);
      if (!nouns) byVerb.set(pair.verb, (nouns = new Map()));
      nouns.set(pair.noun, (nouns.get(pair.noun) ?? 0) + 1);
    }
    if ((i + 1) % chunk === 0) {
      options.onProgress?.(i + 1, instructions.length);
      await new Promise((r) => setTimeout(r, 0));
      options.signal?.throwIfAborted();
    }
  }
  options.onProgress?.(instructions.length, instructions.length);
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  // Most frequent first; ties in alphabetical order so the charts do not reshuffle between runs.
  const ranked = <T>(entries: Iterable<[string, T]>, count: (t: T) => number, limit: number) =>
    [...entries].sort((a, b) => count(b[1]) - count(a[1]) || (a[0] < b[0] ? -1 : 1)).slice(0, limit);
  const verbs = ranked(byVerb, sum, topVerbs).map(([verb, nouns]) => ({
    verb,
    count: sum(nouns),
    nouns: ranked(nouns, (c) => c, nounsPerVerb).map(([noun, count]) => ({ noun, count })),
  }));
  const allPairs = [...byVerb].flatMap(([verb, nouns]) => [...nouns].map(([noun, count]): [string, { verb: string; noun: string; count: number }] => [`${verb} ${noun}`, { verb, noun, count }]));
  const pairs = ranked(allPairs, (p) => p.count, topPairs).map(([, p]) => p);
  const counts: Record<string, number> = {};
  for (const [verb, nouns] of byVerb) for (const [noun, count] of nouns) counts[`${verb} ${noun}`] = count;
  return { total: instructions.length, withPair, verbs, pairs, counts };
}

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/gu;

/** Length of a text in words; each CJK character counts as one word. */
export function wordCount(text: string): number {
  const cjk = text.match(CJK)?.length ?? 0;
  const rest = text.replace(CJK, ' ').trim();
  return cjk + (rest ? rest.split(/\s+/).length : 0);
}

const HAN = /\p{Script=Han}/gu;

/** True when most of the texts' letters are Chinese characters (a sample of up to 200 texts is read). */
export function isChinese(texts: readonly string[]): boolean {
  let han = 0, letters = 0;
  for (const t of texts.slice(0, 200)) {
    han += t.match(HAN)?.length ?? 0;
    letters += t.match(/[\p{L}]/gu)?.length ?? 0;
  }
  return letters > 0 && han / letters > 0.5;
}

/** What a length counts: words (English), or characters (Chinese, which has no spaces between words). */
export type LengthUnit = 'words' | 'characters';

/** Length of a text in the unit: characters are every non-space character. */
export function textLength(text: string, unit: LengthUnit): number {
  return unit === 'characters' ? text.replace(/\s+/g, '').length : wordCount(text);
}

export interface Histogram {
  /** What the lengths count; `mixed` when Chinese and other datasets share the axis (a Chinese character is a word). */
  unit: LengthUnit | 'mixed';
  /** Bin edges: bin k holds lengths in [edges[k], edges[k+1]); the last bin also holds everything above. */
  edges: number[];
  series: { name: string; counts: number[]; total: number; mean: number }[];
}

/**
 * Output lengths of several datasets on the same bins: in characters when all are Chinese, in words when none
 * is, and in words with each Chinese character as one when they mix.
 */
export function outputLengths(sets: readonly { name: string; outputs: readonly string[] }[], bins = 20): Histogram {
  const chinese = sets.map((s) => isChinese(s.outputs));
  const unit = chinese.every(Boolean) ? 'characters' : chinese.some(Boolean) ? 'mixed' : 'words';
  const count = (t: string) => (unit === 'characters' ? textLength(t, 'characters') : wordCount(t));
  return lengthHistograms(sets.map((s) => ({ name: s.name, lengths: s.outputs.map(count) })), bins, undefined, unit);
}

/** Histograms of several length lists on the same bins, so they can be drawn side by side. */
export function lengthHistograms(
  series: { name: string; lengths: readonly number[] }[], bins = 20, maxLength?: number, unit: Histogram['unit'] = 'words',
): Histogram {
  const all = series.flatMap((s) => s.lengths);
  // Clip at the 99th percentile so one very long answer does not squash every bar into the first bin.
  const sorted = [...all].sort((a, b) => a - b);
  const top = maxLength ?? (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] : 0);
  const width = Math.max(1, Math.ceil((top + 1) / bins));
  const edges = Array.from({ length: bins + 1 }, (_, k) => k * width);
  return {
    unit,
    edges,
    series: series.map(({ name, lengths }) => {
      const counts = new Array<number>(bins).fill(0);
      for (const n of lengths) counts[Math.min(bins - 1, Math.floor(n / width))]++;
      const mean = lengths.length ? lengths.reduce((a, b) => a + b, 0) / lengths.length : 0;
      return { name, counts, total: lengths.length, mean };
    }),
  };
}
