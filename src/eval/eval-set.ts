// Evaluation sets and answer sets as files. An eval set is a list of questions (Vicuna-80, FastChat llm_judge
// questions, User-Oriented-252, Alpaca-style instructions); an answer set is one model's answers to it
// (FastChat {question_id, text} or {question_id, choices: [{turns}]}, or Alpaca-style outputs).
import { z } from 'zod';
import { EvalFileError, idSchema, parseRecords } from './records';
import type { Row } from '../data/types';

export interface EvalItem {
  id: string;
  /** Vicuna categories (generic, coding, math ...); "" when the set has none. */
  category: string;
  instruction: string;
  /** The instance input (User-Oriented, Alpaca); "" when none. */
  input: string;
}

const str = z.string();

const EVAL_SET_SHAPES = '{question_id, text, category}, {question_id, category, turns}, {id, instruction, instances} or {instruction, input}';
const ANSWER_SHAPES = '{question_id, text}, {question_id, choices: [{turns}]}, {id, text} or {instruction, input, output}';

const evalItem = z.union([
  z.object({ question_id: idSchema, text: str, category: str.optional() })
    .transform((q) => ({ id: q.question_id, category: q.category ?? '', instruction: q.text, input: '' })),
  z.object({ question_id: idSchema, turns: z.array(str).min(1), category: str.optional() })
    .transform((q) => ({ id: q.question_id, category: q.category ?? '', instruction: q.turns[0], input: '' })),
  z.object({
    id: idSchema,
    motivation_app: str.optional(),
    instruction: str,
    instances: z.array(z.object({ input: str.optional() })).min(1),
  }).transform((q) => ({ id: q.id, category: q.motivation_app ?? '', instruction: q.instruction, input: q.instances[0].input ?? '' })),
  z.object({ id: idSchema.optional(), instruction: str, input: str.optional(), category: str.optional() })
    .transform((q) => ({ id: q.id, category: q.category ?? '', instruction: q.instruction, input: q.input ?? '' })),
]);

/** Reads any supported question file; rows without an id are numbered from 1 in file order. */
export function parseEvalSet(text: string, file: string): EvalItem[] {
  const items = parseRecords(text, file, evalItem, EVAL_SET_SHAPES).map((q, i): EvalItem => ({ ...q, id: q.id ?? String(i + 1) }));
  if (!items.length) throw new EvalFileError(file, 'has no questions');
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.id)) throw new EvalFileError(file, `question id "${item.id}" appears twice; ids must be unique`);
    seen.add(item.id);
  }
  return items;
}

/** An eval set from stored dataset rows (Vicuna-80 and User-Oriented imports keep their ids in meta). */
export function evalItemsFromRows(rows: readonly Row[]): EvalItem[] {
  return rows.map((r, i) => ({
    id: r.meta?.id !== undefined ? String(r.meta.id) : String(i + 1),
    category: r.meta?.category ?? r.meta?.motivationApp ?? '',
    instruction: r.instruction,
    input: r.input,
  }));
}

export interface AnswerRow {
  /** The question it answers, when the file says. */
  id: string | null;
  /** Alpaca-style rows say which instruction instead. */
  instruction: string | null;
  input: string;
  text: string;
  /** The model that wrote it, when the file says (FastChat model_id, AlpacaEval generator). */
  model: string | null;
}

const answerRow = z.union([
  z.object({ question_id: idSchema, text: str, model_id: str.optional() })
    .transform((a) => ({ id: a.question_id, instruction: null, input: '', text: a.text, model: a.model_id ?? null })),
  z.object({ id: idSchema, text: str })
    .transform((a) => ({ id: a.id, instruction: null, input: '', text: a.text, model: null })),
  z.object({
    question_id: idSchema,
    model_id: str.optional(),
    choices: z.array(z.object({ turns: z.array(str).min(1) })).min(1),
  }).transform((a) => ({ id: a.question_id, instruction: null, input: '', text: a.choices[0].turns[0], model: a.model_id ?? null })),
  z.object({ id: idSchema.optional(), instruction: str, input: str.optional(), output: str, generator: str.optional() })
    .transform((a) => ({ id: a.id ?? null, instruction: a.instruction, input: a.input ?? '', text: a.output, model: a.generator ?? null })),
]);

export function parseAnswerSet(text: string, file: string): AnswerRow[] {
  const rows = parseRecords(text, file, answerRow, ANSWER_SHAPES);
  if (!rows.length) throw new EvalFileError(file, 'has no answers');
  return rows;
}

export class AnswerMatchError extends Error {
  override name = 'AnswerMatchError';
}

const key = (instruction: string, input: string) => `${instruction.trim()}\u0000${input.trim()}`;

/**
 * Matches answers to questions: by question id when every answer has one, else by instruction (and input)
 * text, else by position when the counts agree. Every question must get an answer.
 */
export function alignAnswers(items: readonly EvalItem[], rows: readonly AnswerRow[], label: string): Map<string, string> {
  const out = new Map<string, string>();
  if (rows.every((r) => r.id !== null)) {
    const byId = new Map(rows.map((r) => [r.id!, r.text]));
    for (const item of items) if (byId.has(item.id)) out.set(item.id, byId.get(item.id)!);
  } else if (rows.every((r) => r.instruction !== null)) {
    const byText = new Map(rows.map((r) => [key(r.instruction!, r.input), r.text]));
    for (const item of items) {
      const text = byText.get(key(item.instruction, item.input));
      if (text !== undefined) out.set(item.id, text);
    }
  } else if (rows.length === items.length) {
    items.forEach((item, i) => out.set(item.id, rows[i].text));
  }
  const missing = items.filter((i) => !out.has(i.id)).map((i) => i.id);
  if (missing.length) {
    const shown = missing.slice(0, 5).map((id) => `"${id}"`).join(', ');
    throw new AnswerMatchError(
      `${label}: ${missing.length} of ${items.length} questions have no answer (${shown}${missing.length > 5 ? ', …' : ''}); `
      + 'answers are matched by question_id, else by instruction text: check that the answer file belongs to this question set',
    );
  }
  return out;
}

/** True when an answer set has an answer for every question of an eval set (what the judge and pickers need). */
export function answersCover(items: readonly EvalItem[], rows: readonly AnswerRow[]): boolean {
  try {
    alignAnswers(items, rows, '');
    return items.length > 0;
  } catch {
    return false;
  }
}
