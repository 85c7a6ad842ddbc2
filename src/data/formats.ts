// Import formats. A file is a JSON array or JSON Lines; its rows are validated with zod against the format
// its first row names, all of them, before anything is stored: one bad row rejects the whole file, and the
// error says which row and why.
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
    super(`${row > 0 ? `row ${row}${line ? ` (line ${line})` : ''}: ` : ''}${reason}. Nothing was imported.`);
  }
}

export interface ParsedDataset {
  format: FormatId;
  container: 'json' | 'jsonl';
  rows: Row[];
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
  value: unknown;
  row: number;
  line: number;
  chars: number;
}

/** Parses a dataset file's text. Throws ImportError naming the first bad row; returns every row otherwise. */
export function parseDataset(source: string): ParsedDataset {
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
  for (const r of raw) {
    if (r.chars > MAX_ROW_CHARS) {
      throw new ImportError(r.row, `the row holds ${r.chars.toLocaleString('en')} characters, over the ${MAX_ROW_CHARS.toLocaleString('en')} limit (is this the right file?)`, r.line);
    }
    if (typeof r.value !== 'object' || r.value === null || Array.isArray(r.value)) {
      throw new ImportError(r.row, `expected an object, got ${Array.isArray(r.value) ? 'an array' : JSON.stringify(r.value)?.slice(0, 40)}`, r.line);
    }
  }
  const first = new Set(Object.keys(raw[0].value as Record<string, unknown>));
  const fmt = FORMATS.find((f) => f.keys.every((k) => first.has(k)));
  if (!fmt) {
    throw new ImportError(1, `no known format has the fields {${[...first].join(', ')}}; expected one of: ${FORMATS.map((f) => f.label).join('; ')}`, raw[0].line);
  }
  const rows: Row[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const parsed = fmt.schema.safeParse(raw[i].value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
      throw new ImportError(raw[i].row, `${where}${issue.message} (${fmt.label})`, raw[i].line);
    }
    rows[i] = (fmt.toRow as (v: unknown) => Row)(parsed.data);
  }
  return { format: fmt.id, container, rows };
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
    // Walk the array element by element to say which row is broken.
    locateJsonError(text);
  }
  if (!Array.isArray(values)) throw new ImportError(0, 'expected a JSON array of rows');
  // A valid JSON array carries no line positions; its rows are reported by number alone.
  return values.map((value, i) => ({ value, row: i + 1, line: 0, chars: charCount(value) }));
}

/** Scans a JSON array that JSON.parse rejected, and throws an ImportError for the first bad element. */
function locateJsonError(text: string): never {
  let i = text.indexOf('[') + 1;
  let row = 0;
  const ws = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
  for (;;) {
    while (i < text.length && ws(text.charCodeAt(i))) i++;
    if (i >= text.length) throw new ImportError(row + 1, 'the file ends before the array is closed (truncated download?)', lineAt(text, i));
    if (text[i] === ']') {
      if (row > 0) throw new ImportError(row, 'a comma after the last row (trailing commas are not JSON)', lineAt(text, i));
      throw new ImportError(0, 'the file is not valid JSON');
    }
    row++;
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
    if (i >= text.length) throw new ImportError(row, 'the file ends in the middle of this row (truncated download?)', lineAt(text, start));
    try {
      JSON.parse(text.slice(start, i));
    } catch (e) {
      throw new ImportError(row, `invalid JSON: ${(e as Error).message}`, lineAt(text, start));
    }
    if (text[i] === ']') {
      const rest = text.slice(i + 1).search(/\S/);
      if (rest >= 0) throw new ImportError(0, `unexpected text after the closing "]" at line ${lineAt(text, i + 1 + rest)}`);
      throw new ImportError(0, 'the file is not valid JSON');
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
      throw new ImportError(row, `the row holds ${line.length.toLocaleString('en')} characters, over the ${MAX_ROW_CHARS.toLocaleString('en')} limit (is this the right file?)`, l + 1);
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      const message = (e as Error).message;
      const cutOff = /end of JSON|Unterminated/i.test(message) && lines.slice(l + 1).every((x) => !x.trim());
      const hint = cutOff ? ' (the last line looks cut off: truncated download?)' : '';
      throw new ImportError(row, `invalid JSON: ${message}${hint}`, l + 1);
    }
    out.push({ value, row, line: l + 1, chars: charCount(value) });
  }
  return out;
}
