// Reading evaluation files: a JSON array or JSON Lines, each record validated with zod, and an error that
// names the file and every bad record (up to a cap) with what is wrong, so the user knows which lines to fix.
import { z } from 'zod';
import { MAX_LISTED_PROBLEMS } from '../data/formats';

export class EvalFileError extends Error {
  override name = 'EvalFileError';
  constructor(readonly file: string, reason: string, readonly line?: number) {
    super(`${file}${line ? ` line ${line}` : ''}: ${reason}`);
  }
}

interface Raw {
  value: unknown;
  /** 1-based line of a JSON Lines record; undefined inside a JSON array. */
  line?: number;
  index: number;
  /** Why the record could not be read at all. */
  problem?: string;
}

function rawRecords(text: string, file: string): Raw[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new EvalFileError(file, `not valid JSON (${(error as Error).message}); expected a JSON array or JSON Lines`);
    }
    return (parsed as unknown[]).map((value, index) => ({ value, index }));
  }
  const out: Raw[] = [];
  text.split('\n').forEach((lineText, i) => {
    if (!lineText.trim()) return;
    try {
      out.push({ value: JSON.parse(lineText), line: i + 1, index: out.length });
    } catch {
      out.push({ value: undefined, line: i + 1, index: out.length, problem: 'not valid JSON; expected one JSON object per line' });
    }
  });
  return out;
}

/**
 * Every record of `text` parsed with `schema`. Bad records throw one EvalFileError naming each (line, or record
 * number inside a JSON array) with its reason, the first MAX_LISTED_PROBLEMS of them, and counting the rest.
 * `expected` describes the accepted shapes for records that match none of a union's.
 */
export function parseRecords<S extends z.ZodType>(text: string, file: string, schema: S, expected?: string): z.infer<S>[] {
  const out: z.infer<S>[] = [];
  const bad: { line?: number; reason: string }[] = [];
  let badCount = 0;
  const raws = rawRecords(text, file);
  for (const { value, line, index, problem } of raws) {
    let reason = problem;
    if (!reason) {
      const result = schema.safeParse(value);
      if (result.success) {
        out.push(result.data);
        continue;
      }
      const issue = result.error.issues[0];
      const where = issue.path.length ? `field "${issue.path.join('.')}": ` : '';
      const why = issue.code === 'invalid_union' && expected ? `not a recognised record; expected ${expected}` : issue.message;
      reason = `${line ? '' : `record ${index + 1}: `}${where}${why}`;
    }
    if (++badCount <= MAX_LISTED_PROBLEMS) bad.push({ line, reason });
  }
  if (badCount === 1) throw new EvalFileError(file, bad[0].reason, bad[0].line);
  if (badCount > 1) {
    const listed = bad.map((b) => `${b.line ? `line ${b.line}: ` : ''}${b.reason}`).join('; ');
    const more = badCount - bad.length;
    throw new EvalFileError(file, `${badCount} of ${raws.length} records are bad: ${listed}${more ? `; and ${more} more` : ''}`);
  }
  return out;
}

/** Question ids are numbers in the Vicuna files and strings elsewhere; both compare as strings. */
export const idSchema = z.union([z.number(), z.string()]).transform(String);
