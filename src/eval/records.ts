// Reading evaluation files: a JSON array or JSON Lines, each record validated with zod, and an error that
// names the file, the record and what is wrong, so the user knows which line to fix.
import { z } from 'zod';

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
      throw new EvalFileError(file, 'not valid JSON; expected one JSON object per line', i + 1);
    }
  });
  return out;
}

/**
 * Every record of `text` parsed with `schema`; the first bad record throws with its line or index.
 * `expected` describes the accepted shapes for records that match none of a union's.
 */
export function parseRecords<S extends z.ZodType>(text: string, file: string, schema: S, expected?: string): z.infer<S>[] {
  return rawRecords(text, file).map(({ value, line, index }) => {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    const issue = result.error.issues[0];
    const where = issue.path.length ? `field "${issue.path.join('.')}": ` : '';
    const why = issue.code === 'invalid_union' && expected ? `not a recognised record; expected ${expected}` : issue.message;
    throw new EvalFileError(file, `${line ? '' : `record ${index + 1}: `}${where}${why}`, line);
  });
}

/** Question ids are numbers in the Vicuna files and strings elsewhere; both compare as strings. */
export const idSchema = z.union([z.number(), z.string()]).transform(String);
