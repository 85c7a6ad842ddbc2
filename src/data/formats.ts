// Import formats. A file is a JSON array or JSON Lines; its rows are validated with zod against the format
// its first row names, all of them, before anything is stored: a bad row rejects the whole file, and the error
// lists the bad rows (the first 50, with line and reason). The caller may then import the good rows alone.
import { z } from 'zod';
import { looksLikeScoreFile } from '../eval/score-file';
import type { FormatId, Row, Turn } from './types';

/** Rows larger than this are refused: no instruction dataset has them, a wrong file does. */
export const MAX_ROW_CHARS = 1_000_000;

export class ImportError extends Error {
  override name = 'ImportError';
  constructor(
    /** 1-based row (JSON array element or JSON Lines record); 0 when the file as a whole is wrong. */
    readonly row: number,
    readonly reason: string,
    /** 1-based line in the file, when known. */
    readonly line?: number,
  ) {
    super(`${row > 0 ? describeProblem({ row, line, reason }) : reason}. Nothing was imported.`);
  }
}

/** How many bad rows an import lists; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 50;

export interface RowProblem {
  /** 1-based row (JSON array element or JSON Lines record). */
  row: number;
  /** 1-based line in the file. */
  line?: number;
  reason: string;
}

/** Rows that fail: the first MAX_LISTED_PROBLEMS listed in file order, `bad` counts them all. */
export class BadRowsError extends ImportError {
  override name = 'BadRowsError';
  constructor(
    readonly problems: RowProblem[],
    readonly bad: number,
    /** Rows in the file, good and bad. */
    readonly total: number,
  ) {
    super(problems[0].row, problems[0].reason, problems[0].line);
    const more = bad - 1;
    this.message = `${describeProblem(problems[0])}${more ? `; and ${more.toLocaleString('en')} more bad row${more === 1 ? '' : 's'} (${bad.toLocaleString('en')} of ${total.toLocaleString('en')})` : ''}. Nothing was imported.`;
  }

  /** Rows that would import if the bad ones were left out. */
  get good(): number {
    return this.total - this.bad;
  }
}

export function describeProblem(p: RowProblem): string {
  return `row ${p.row}${p.line ? ` (line ${p.line})` : ''}: ${p.reason}`;
}

export interface ParsedDataset {
  format: FormatId;
  container: 'json' | 'jsonl';
  rows: Row[];
  /** With skipBadRows: the rows left out. */
  skipped?: { bad: number; problems: RowProblem[] };
}

const str = z.string();
const turn = z.looseObject({ from: str, value: str });
const turnOrText = z.union([str, turn]);

const alpaca = z.looseObject({ instruction: str, input: str.optional(), output: str.optional() });
const unnatural = z.looseObject({ instruction: str, input: str.optional(), output: str.optional(), label: str });
const comparison = z.looseObject({
  user_input: str,
  responses_and_scores: z.array(z.looseObject({ response: str, score: z.number(), source: str })).min(1),
});
const vicuna80 = z.looseObject({ question_id: z.union([z.number(), str]), text: str, category: str.optional() });
const fastchatQuestion = z.looseObject({
  question_id: z.union([z.number(), str]),
  category: str.optional(),
  turns: z.array(str).min(1),
});
const userOriented = z.looseObject({
  id: z.union([str, z.number()]).optional(),
  motivation_app: str.optional(),
  instruction: str,
  instances: z.array(z.looseObject({ input: str.optional(), output: str.optional() })).min(1),
});
const pairsShareGpt = z.looseObject({ conversations: z.array(turn).min(1), chosen: turnOrText, rejected: turnOrText });
const pairsPrompt = z.looseObject({ prompt: str, chosen: turnOrText, rejected: turnOrText });

const text = (t: string | { value: string }) => (typeof t === 'string' ? t : t.value);

interface Format<S extends z.ZodType> {
  id: FormatId;
  label: string;
  /** The fields that identify it in a file's first row. */
  keys: string[];
  schema: S;
  toRow(value: z.infer<S>): Row;
}

const format = <S extends z.ZodType>(f: Format<S>) => f;

/** Checked in order: the first whose keys are all present in row 1 decides the file's format. */
export const FORMATS = [
  format({
    id: 'comparison', label: 'GPT-4-LLM comparison data (user_input, responses_and_scores)',
    keys: ['user_input', 'responses_and_scores'], schema: comparison,
    toRow: (v) => {
      const responses = v.responses_and_scores.map((r) => ({ response: r.response, score: r.score, source: r.source }));
      const best = responses.reduce((a, b) => (b.score > a.score ? b : a));
      return { instruction: v.user_input, input: '', output: best.response, responses };
    },
  }),
  format({
    id: 'pairs-sharegpt', label: 'preference pairs (conversations, chosen, rejected)',
    keys: ['conversations', 'chosen', 'rejected'], schema: pairsShareGpt,
    toRow: (v) => {
      const turns: Turn[] = v.conversations.map((t) => ({ from: t.from, value: t.value }));
      const last = turns[turns.length - 1];
      const row: Row = { instruction: last.value, input: '', output: text(v.chosen), chosen: text(v.chosen), rejected: text(v.rejected) };
      if (turns.length > 1) row.history = turns.slice(0, -1);
      return row;
    },
  }),
  format({
    id: 'pairs-prompt', label: 'preference pairs (prompt, chosen, rejected)',
    keys: ['prompt', 'chosen', 'rejected'], schema: pairsPrompt,
    toRow: (v) => ({ instruction: v.prompt, input: '', output: text(v.chosen), chosen: text(v.chosen), rejected: text(v.rejected) }),
  }),
  format({
    id: 'fastchat-question', label: 'FastChat questions (question_id, category, turns)',
    keys: ['question_id', 'turns'], schema: fastchatQuestion,
    toRow: (v) => {
      const row: Row = { instruction: v.turns[0], input: '', output: '', meta: { id: v.question_id } };
      if (v.category !== undefined) row.meta!.category = v.category;
      if (v.turns.length > 1) row.meta!.turns = v.turns.slice(1);
      return row;
    },
  }),
  format({
    id: 'vicuna80', label: 'Vicuna-80 questions (question_id, text, category)',
    keys: ['question_id', 'text'], schema: vicuna80,
    toRow: (v) => {
      const row: Row = { instruction: v.text, input: '', output: '', meta: { id: v.question_id } };
      if (v.category !== undefined) row.meta!.category = v.category;
      return row;
    },
  }),
  format({
    id: 'user-oriented', label: 'User-Oriented instructions (id, motivation_app, instruction, instances)',
    keys: ['instruction', 'instances'], schema: userOriented,
    toRow: (v) => {
      const instances = v.instances.map((i) => ({ input: i.input ?? '', output: i.output ?? '' }));
      const row: Row = { instruction: v.instruction, input: instances[0].input, output: instances[0].output, meta: {} };
      if (v.id !== undefined) row.meta!.id = v.id;
      if (v.motivation_app !== undefined) row.meta!.motivationApp = v.motivation_app;
      if (instances.length > 1) row.meta!.instances = instances;
      return row;
    },
  }),
  format({
    id: 'unnatural', label: 'Unnatural Instructions with GPT-4 answers (instruction, input, output, label)',
    keys: ['instruction', 'label'], schema: unnatural,
    toRow: (v) => ({ instruction: v.instruction, input: v.input ?? '', output: v.output ?? '', label: v.label }),
  }),
  format({
    id: 'alpaca', label: 'Alpaca (instruction, input, output)',
    keys: ['instruction'], schema: alpaca,
    toRow: (v) => ({ instruction: v.instruction, input: v.input ?? '', output: v.output ?? '' }),
  }),
];

export function formatLabel(id: FormatId): string {
  return FORMATS.find((f) => f.id === id)!.label;
}

interface RawRow {
  /** Undefined when the row is not valid JSON (see problem). */
  value: unknown;
  row: number;
  /** 1-based line; 0 inside a JSON array that parsed as a whole (found again only when a row is bad). */
  line: number;
  chars: number;
  problem?: string;
}

/** Parses a dataset file's text. Throws BadRowsError listing the bad rows (or ImportError for a file that is
 *  wrong as a whole); with `skipBadRows`, returns the good rows and what was skipped instead. */
export function parseDataset(source: string, options: { skipBadRows?: boolean } = {}): ParsedDataset {
  const body = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  const start = body.search(/\S/);
  if (start < 0) throw new ImportError(0, 'the file is empty');
  const container = body[start] === '[' ? 'json' : 'jsonl';
  if (container === 'jsonl' && body[start] !== '{') {
    throw new ImportError(0, 'expected a JSON array of rows or JSON Lines (one object per line)');
  }
  if (container === 'jsonl') refuseScoreFile(body);
  const raw = container === 'json' ? jsonArrayRows(body) : jsonLinesRows(body);
  if (!raw.length) throw new ImportError(0, 'the file has no rows');
  // The first row that is an object names the format.
  const first = raw.find((r) => shapeProblem(r) === null);
  const fmt = first ? formatOf(first) : undefined;
  const problems: RowProblem[] = [];
  const rows: Row[] = [];
  let bad = 0;
  for (const r of raw) {
    let reason = shapeProblem(r);
    if (reason === null) {
      const parsed = fmt!.schema.safeParse(r.value);
      if (parsed.success) {
        rows.push((fmt!.toRow as (v: unknown) => Row)(parsed.data));
        continue;
      }
      const issue = parsed.error.issues[0];
      reason = `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message} (${fmt!.label})`;
    }
    if (++bad <= MAX_LISTED_PROBLEMS) problems.push({ row: r.row, line: r.line || undefined, reason });
  }
  if (!bad) return { format: fmt!.id, container, rows };
  if (container === 'json' && problems.some((p) => p.line === undefined)) addLines(body, problems);
  if (!options.skipBadRows || !rows.length) throw new BadRowsError(problems, bad, raw.length);
  return { format: fmt!.id, container, rows, skipped: { bad, problems } };
}

/** Why a row cannot be a dataset row whatever the format (not JSON, too large, not an object), or null. */
function shapeProblem(r: RawRow): string | null {
  if (r.problem) return r.problem;
  if (r.chars > MAX_ROW_CHARS) {
    return `the row holds ${r.chars.toLocaleString('en')} characters, over the ${MAX_ROW_CHARS.toLocaleString('en')} limit (is this the right file?)`;
  }
  if (typeof r.value !== 'object' || r.value === null || Array.isArray(r.value)) {
    return `expected an object, got ${Array.isArray(r.value) ? 'an array' : JSON.stringify(r.value)?.slice(0, 40)}`;
  }
  return null;
}

function formatOf(first: RawRow) {
  const keys = new Set(Object.keys(first.value as Record<string, unknown>));
  const fmt = FORMATS.find((f) => f.keys.every((k) => keys.has(k)));
  if (!fmt) {
    throw new ImportError(first.row, `no known format has the fields {${[...keys].join(', ')}}; expected one of: ${FORMATS.map((f) => f.label).join('; ')}`, first.line || undefined);
  }
  return fmt;
}

/** Lines of the listed rows of a JSON array that parsed as a whole (its rows carry none). */
function addLines(text: string, problems: RowProblem[]): void {
  const lines = new Map(scanJsonArray(text).map((r) => [r.row, r.line]));
  for (const p of problems) p.line = lines.get(p.row);
}

/** The paper's score file is one JSON object of score lists: not rows, but Reports draws it. */
function refuseScoreFile(body: string): void {
  let whole: unknown;
  try {
    whole = JSON.parse(body);
  } catch {
    return; // JSON Lines, or broken: the row parser names the line
  }
  if (looksLikeScoreFile(whole)) {
    throw new ImportError(0, `this is a score file (GPT-4's scores per model: ${Object.keys(whole).join(', ')}; no texts), not a dataset: open it on the Reports page under “GPT-4 feedback scores”`);
  }
}

/** Total characters of every string in a value: the row-size test, without re-serializing. */
function charCount(v: unknown): number {
  if (typeof v === 'string') return v.length;
  if (typeof v !== 'object' || v === null) return 8;
  let n = 0;
  for (const x of Array.isArray(v) ? v : Object.values(v)) n += charCount(x);
  return n;
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function jsonArrayRows(text: string): RawRow[] {
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch {
    // Walk the array element by element to say which rows are broken.
    return scanJsonArray(text);
  }
  if (!Array.isArray(values)) throw new ImportError(0, 'expected a JSON array of rows');
  return values.map((value, i) => ({ value, row: i + 1, line: 0, chars: charCount(value) }));
}

/**
 * Splits a JSON array into its elements and parses each on its own, so a broken row is named and the rows
 * after it are still read. A file cut off, or broken between rows, throws ImportError: no row can be trusted.
 */
function scanJsonArray(text: string): RawRow[] {
  const out: RawRow[] = [];
  let i = text.indexOf('[') + 1;
  let line = lineAt(text, i);
  let counted = i;
  const lineOf = (index: number) => {
    for (let n = text.indexOf('\n', counted); n >= 0 && n < index; n = text.indexOf('\n', n + 1)) line++;
    counted = index;
    return line;
  };
  const ws = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
  for (;;) {
    while (i < text.length && ws(text.charCodeAt(i))) i++;
    if (i >= text.length) throw new ImportError(out.length + 1, 'the file ends before the array is closed (truncated download?)', lineOf(i));
    if (text[i] === ']') {
      if (out.length > 0) throw new ImportError(out.length, 'a comma after the last row (trailing commas are not JSON)', lineOf(i));
      throw new ImportError(0, 'the file is not valid JSON');
    }
    const row = out.length + 1;
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (depth === 0) break;
        depth--;
      } else if (c === ',' && depth === 0) break;
    }
    if (i >= text.length) throw new ImportError(row, 'the file ends in the middle of this row (truncated download?)', lineOf(start));
    const element = text.slice(start, i);
    const at = lineOf(start);
    try {
      const value: unknown = JSON.parse(element);
      out.push({ value, row, line: at, chars: charCount(value) });
    } catch (e) {
      out.push({ value: undefined, row, line: at, chars: element.length, problem: `invalid JSON: ${(e as Error).message}` });
    }
    if (text[i] === ']') {
      const rest = text.slice(i + 1).search(/\S/);
      if (rest >= 0) throw new ImportError(0, `unexpected text after the closing "]" at line ${lineAt(text, i + 1 + rest)}`);
      return out;
    }
    i++; // past the comma
  }
}

function jsonLinesRows(text: string): RawRow[] {
  const out: RawRow[] = [];
  const lines = text.split('\n');
  for (let l = 0; l < lines.length; l++) {
    const line = lines[l].endsWith('\r') ? lines[l].slice(0, -1) : lines[l];
    if (!line.trim()) continue;
    const row = out.length + 1;
    if (line.length > MAX_ROW_CHARS) {
      out.push({ value: undefined, row, line: l + 1, chars: line.length });
      continue;
    }
    try {
      const value: unknown = JSON.parse(line);
      out.push({ value, row, line: l + 1, chars: charCount(value) });
    } catch (e) {
      const message = (e as Error).message;
      const cutOff = /end of JSON|Unterminated/i.test(message) && lines.slice(l + 1).every((x) => !x.trim());
      const hint = cutOff ? ' (the last line looks cut off: truncated download?)' : '';
      out.push({ value: undefined, row, line: l + 1, chars: line.length, problem: `invalid JSON: ${message}${hint}` });
    }
  }
  return out;
}
