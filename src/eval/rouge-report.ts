// ROUGE-L of a prediction file against a reference file, per item and by reference length, as in the paper's
// Figure 6 (Unnatural Instructions, bins of 0-2, 3-5, 6-10 and more than 10 reference words).
import { z } from 'zod';
import type { EvalItem } from './eval-set';
import { idSchema, parseRecords } from './records';
import { rougeLTokens, tokenize, type RougeOptions, type Score } from './rouge';

export const LENGTH_BINS = ['0-2', '3-5', '6-10', '>10'] as const;
export type LengthBin = (typeof LENGTH_BINS)[number];

export interface RougeItem {
  id: string;
  precision: number;
  recall: number;
  f: number;
}

export interface BinSummary {
  n: number;
  /** Null when no item fell in the bin. */
  mean_f: number | null;
}

export interface RougeReport {
  items: RougeItem[];
  mean_f: number | null;
  bins: Record<LengthBin, BinSummary>;
}

const CJK_CHAR = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/gu;

/**
 * Length of a reference in words: whitespace-separated words; with the CJK option each CJK character is a
 * word of its own too (Chinese has no spaces, so "今天天气很好" is 6 words, not 1).
 */
export function wordCount(text: string, options: RougeOptions = {}): number {
  const source = options.cjk ? text.replace(CJK_CHAR, ' $& ') : text;
  return source.split(/\s+/).filter(Boolean).length;
}

export function lengthBin(words: number): LengthBin {
  if (words <= 2) return '0-2';
  if (words <= 5) return '3-5';
  if (words <= 10) return '6-10';
  return '>10';
}

/** rouge-score's score_multi: the reference that gives the highest F-measure decides the score. */
export function rougeLMulti(targets: readonly string[], prediction: string, options: RougeOptions = {}): Score {
  const p = tokenize(prediction, options);
  let best: Score = { precision: 0, recall: 0, fmeasure: 0 };
  for (const target of targets) {
    const s = rougeLTokens(tokenize(target, options), p);
    if (s.fmeasure > best.fmeasure) best = s;
  }
  return best;
}

export interface Reference {
  id: string;
  /** One or more references; the score is the maximum over them. */
  texts: string[];
}

export interface Prediction {
  id: string;
  text: string;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null);

/**
 * Scores every reference's prediction. The reference length that picks the bin is the first reference's
 * (the dataset's label); every reference must have a prediction with the same id.
 */
export function rougeReport(predictions: readonly Prediction[], references: readonly Reference[], options: RougeOptions = {}): RougeReport {
  const byId = new Map<string, string>();
  for (const p of predictions) {
    if (byId.has(p.id)) throw new RougeInputError(`prediction id "${p.id}" appears twice; keep one answer per id`);
    byId.set(p.id, p.text);
  }
  const missing = references.filter((r) => !byId.has(r.id)).map((r) => r.id);
  if (missing.length) {
    const shown = missing.slice(0, 5).map((id) => `"${id}"`).join(', ');
    throw new RougeInputError(`${missing.length} reference id(s) have no prediction (${shown}${missing.length > 5 ? ', …' : ''}); score the same set of ids on both sides`);
  }
  const binned = new Map<LengthBin, number[]>(LENGTH_BINS.map((b) => [b, []]));
  const items = references.map((ref) => {
    const s = rougeLMulti(ref.texts, byId.get(ref.id)!, options);
    binned.get(lengthBin(wordCount(ref.texts[0] ?? '', options)))!.push(s.fmeasure);
    return { id: ref.id, precision: s.precision, recall: s.recall, f: s.fmeasure };
  });
  const bins = Object.fromEntries(LENGTH_BINS.map((b) => {
    const fs = binned.get(b)!;
    return [b, { n: fs.length, mean_f: mean(fs) }];
  })) as Record<LengthBin, BinSummary>;
  return { items, mean_f: mean(items.map((i) => i.f)), bins };
}

export class RougeInputError extends Error {
  override name = 'RougeInputError';
}

const referenceRow = z.object({ id: idSchema, text: z.union([z.string(), z.array(z.string()).min(1)]) });
const predictionRow = z.object({ id: idSchema, text: z.string() });

/** JSONL (or a JSON array) of {id, text}; a reference's text may be a list of references. */
export function parseReferences(text: string, file: string): Reference[] {
  return parseRecords(text, file, referenceRow).map((r) => ({ id: r.id, texts: typeof r.text === 'string' ? [r.text] : r.text }));
}

export function parsePredictions(text: string, file: string): Prediction[] {
  return parseRecords(text, file, predictionRow);
}

const labelled = z.union([
  referenceRow.transform((r) => ({ id: r.id as string | undefined, instruction: '', input: '', texts: typeof r.text === 'string' ? [r.text] : r.text })),
  z.object({ id: idSchema.optional(), instruction: z.string(), input: z.string().optional(), label: z.string() })
    .transform((r) => ({ id: r.id, instruction: r.instruction, input: r.input ?? '', texts: [r.label] })),
  z.object({ id: idSchema.optional(), instruction: z.string(), input: z.string().optional(), output: z.string() })
    .transform((r) => ({ id: r.id, instruction: r.instruction, input: r.input ?? '', texts: [r.output] })),
]);

/**
 * References for the page: {id, text} rows, or instruction rows whose `label` (Unnatural Instructions) or
 * `output` is the reference, numbered from 1 when they have no id. The eval items let predictions written as
 * Alpaca-style outputs be matched by instruction.
 */
export function parseReferenceSet(text: string, file: string): { references: Reference[]; items: EvalItem[] } {
  const rows = parseRecords(text, file, labelled, '{id, text}, {instruction, input, label} or {instruction, input, output}');
  const withIds = rows.map((r, i) => ({ ...r, id: r.id ?? String(i + 1) }));
  return {
    references: withIds.map((r) => ({ id: r.id, texts: r.texts })),
    items: withIds.map((r) => ({ id: r.id, category: '', instruction: r.instruction, input: r.input })),
  };
}
