// ROUGE-L of predictions against references, per item and by reference length, as in the paper's Figure 6
// (Unnatural Instructions, bins of 0-2, 3-5, 6-10 and more than 10 reference words). Either side is an uploaded
// file, a stored dataset or a stored answer set.
import { z } from 'zod';
import type { Row } from '../data/types';
import { alignAnswers, evalItemsFromRows, parseAnswerSet, type AnswerRow, type EvalItem } from './eval-set';
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

/** Where a ROUGE-L side comes from: an uploaded file, a stored dataset, or a stored answer set. */
export type RougeSource = { kind: 'file'; file: File } | { kind: 'dataset'; id: string } | { kind: 'answers'; id: string };

/** The studio's stored sets, as ROUGE-L reads them. */
export interface StoredSets {
  dataset(id: string): Promise<{ name: string; rows: Row[] }>;
  answerSet(id: string): { name: string; rows: AnswerRow[] } | undefined;
}

/**
 * A stored dataset's rows as references: the label (Unnatural Instructions) or else the output; ids as an eval
 * set made from the same dataset has them (its rows' ids, else numbered from 1), so its answer sets match by id.
 */
export function referencesFromRows(rows: readonly Row[], name: string): { references: Reference[]; items: EvalItem[] } {
  const items = evalItemsFromRows(rows);
  const texts = rows.map((r) => r.label ?? r.output);
  const empty = texts.flatMap((t, i) => (t.trim() ? [] : [i + 1]));
  if (empty.length === rows.length) throw new RougeInputError(`“${name}” has no reference texts: its rows have neither a label nor an output`);
  if (empty.length) {
    throw new RougeInputError(`${empty.length} rows of “${name}” have no reference text (no label or output), e.g. row ${empty.slice(0, 5).join(', ')}: fill them in or delete them on the Datasets page`);
  }
  return { references: items.map((item, i) => ({ id: item.id, texts: [texts[i]] })), items };
}

/** One model's answers as references (another model is scored against them); unnumbered rows count from 1. */
export function referencesFromAnswers(rows: readonly AnswerRow[]): { references: Reference[]; items: EvalItem[] } {
  const items = rows.map((r, i): EvalItem => ({ id: r.id ?? String(i + 1), category: '', instruction: r.instruction ?? '', input: r.input }));
  return { references: items.map((item, i) => ({ id: item.id, texts: [rows[i].text] })), items };
}

/** A stored dataset's outputs as predictions, matched by the rows' ids when they have them, else by instruction. */
export function predictionsFromRows(rows: readonly Row[]): AnswerRow[] {
  return rows.map((r) => ({ id: r.meta?.id !== undefined ? String(r.meta.id) : null, instruction: r.instruction, input: r.input, text: r.output, model: null }));
}

const fileStem = (name: string) => name.replace(/\.(jsonl?|json)$/i, '');

export async function loadReferences(source: RougeSource, stored: StoredSets): Promise<{ name: string; references: Reference[]; items: EvalItem[] }> {
  if (source.kind === 'file') return { name: fileStem(source.file.name), ...parseReferenceSet(await source.file.text(), source.file.name) };
  if (source.kind === 'dataset') {
    const { name, rows } = await stored.dataset(source.id);
    return { name, ...referencesFromRows(rows, name) };
  }
  const set = stored.answerSet(source.id);
  if (!set) throw new RougeInputError('the reference answer set was deleted: pick another');
  return { name: set.name, ...referencesFromAnswers(set.rows) };
}

export async function loadPredictions(source: RougeSource, stored: StoredSets): Promise<{ name: string; rows: AnswerRow[] }> {
  if (source.kind === 'file') return { name: fileStem(source.file.name), rows: parseAnswerSet(await source.file.text(), source.file.name) };
  if (source.kind === 'dataset') {
    const { name, rows } = await stored.dataset(source.id);
    return { name, rows: predictionsFromRows(rows) };
  }
  const set = stored.answerSet(source.id);
  if (!set) throw new RougeInputError('the answer set to score was deleted: pick another');
  return { name: set.name, rows: set.rows };
}

/** ROUGE-L of predictions against references, each side a file or a stored set; answers are matched to questions as the judge matches them. */
export async function rougeOfSources(refs: RougeSource, preds: RougeSource, stored: StoredSets, options: RougeOptions = {}): Promise<{ references: string; predictions: string; report: RougeReport }> {
  const r = await loadReferences(refs, stored);
  const p = await loadPredictions(preds, stored);
  const byId = alignAnswers(r.items, p.rows, `“${p.name}”`);
  const report = rougeReport([...byId].map(([id, text]) => ({ id, text })), r.references, options);
  return { references: r.name, predictions: p.name, report };
}
