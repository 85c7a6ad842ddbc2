// Exports: Alpaca JSON (an array, as the GPT-4-LLM files are written), Alpaca JSON Lines, preference pairs as
// JSON Lines {prompt, chosen, rejected}, and scored responses as GPT-4-LLM's comparison_data_v2 JSON
// {user_input, responses_and_scores}. Only row content is written: nothing from settings.
import type { Row, ScoredResponse } from './types';

export type ExportFormat = 'alpaca-json' | 'alpaca-jsonl' | 'pairs-jsonl' | 'comparison-json';

export interface ExportResult {
  text: string;
  /** Rows written. */
  count: number;
  /** Rows with nothing to write in this format (pairs: no chosen/rejected and no two scored responses). */
  skipped: number;
  fileName: string;
  mime: string;
}

const alpacaOf = (r: Row) => ({ instruction: r.instruction, input: r.input, output: r.output });

/** The prompt of a pair: the instruction, then the input after a blank line when there is one. */
export function pairPrompt(r: Row): string {
  return r.input ? `${r.instruction}\n\n${r.input}` : r.instruction;
}

/** A row as a preference pair: its own chosen/rejected, or the best and worst of its scored responses. */
export function pairOf(r: Row): { prompt: string; chosen: string; rejected: string } | null {
  if (r.chosen !== undefined && r.rejected !== undefined) return { prompt: pairPrompt(r), chosen: r.chosen, rejected: r.rejected };
  if (r.responses && r.responses.length >= 2) {
    let best = r.responses[0], worst = r.responses[0];
    for (const x of r.responses) {
      if (x.score > best.score) best = x;
      if (x.score < worst.score) worst = x;
    }
    if (best.score > worst.score) return { prompt: pairPrompt(r), chosen: best.response, rejected: worst.response };
  }
  return null;
}

/** A row with scored responses in comparison_data_v2's shape; null for a row without them. */
export function comparisonRecord(r: Row): { user_input: string; responses_and_scores: ScoredResponse[] } | null {
  if (!r.responses?.length) return null;
  return { user_input: pairPrompt(r), responses_and_scores: r.responses.map((x) => ({ response: x.response, score: x.score, source: x.source })) };
}

export function exportRows(rows: readonly Row[], format: ExportFormat, baseName: string): ExportResult {
  const stem = baseName.replace(/\.(jsonl?|json)$/i, '').replace(/[^\w.-]+/g, '_') || 'dataset';
  if (format === 'alpaca-json') {
    return { text: JSON.stringify(rows.map(alpacaOf), null, 4) + '\n', count: rows.length, skipped: 0, fileName: `${stem}.json`, mime: 'application/json' };
  }
  if (format === 'alpaca-jsonl') {
    return { text: rows.map((r) => JSON.stringify(alpacaOf(r)) + '\n').join(''), count: rows.length, skipped: 0, fileName: `${stem}.jsonl`, mime: 'application/jsonl' };
  }
  if (format === 'comparison-json') {
    const records = rows.map(comparisonRecord).filter((x) => x !== null);
    return {
      text: JSON.stringify(records, null, 4) + '\n', count: records.length, skipped: rows.length - records.length,
      fileName: `${stem}.comparison.json`, mime: 'application/json',
    };
  }
  const lines: string[] = [];
  for (const r of rows) {
    const pair = pairOf(r);
    if (pair) lines.push(JSON.stringify(pair) + '\n');
  }
  return { text: lines.join(''), count: lines.length, skipped: rows.length - lines.length, fileName: `${stem}.pairs.jsonl`, mime: 'application/jsonl' };
}
