// Preference pairs for the reward model (and DPO): a prompt with a chosen and a rejected response, each tokenized
// as a training example (its labels mark the response), batched with padding so chosen rows come first and each
// row's reward can be read at its own last token.
import { z } from 'zod';
import { parseDataset } from '../data/formats';
import { mulberry32 } from '../data/split';
import type { Row } from '../data/types';
import type { TextTokenizer } from '../tokenizer/tokenizer';
import { alpacaExample, chatExample, padBatch, shuffle, TrainDataError, type Batch, type ExampleOptions, type InstructionRow, type TrainExample } from './data';

export interface PairExample {
  chosen: TrainExample;
  rejected: TrainExample;
  /** How much the chosen response should win by: its score difference when training with margins, else 0. */
  margin: number;
}

/** A prompt and two responses as text; `margin` is the score difference where scores exist. */
export interface PairRow {
  instruction: string;
  input?: string;
  chosen: string;
  rejected: string;
  scoreGap?: number;
}

/** P pairs as one padded batch of B = 2P rows: rows [0, P) chosen, [P, 2P) rejected. */
export interface PairBatch extends Batch {
  P: number;
  lengths: Uint32Array; // (2P) real tokens of each row: its reward is read at token lengths[b] - 1
  margins: Float32Array; // (P)
}

/** The pairs a dataset row yields: its chosen/rejected pair, or every two scored responses that differ. */
export function pairRows(rows: readonly Row[]): PairRow[] {
  const out: PairRow[] = [];
  for (const row of rows) {
    if (row.chosen !== undefined && row.rejected !== undefined) {
      out.push({ instruction: row.instruction, input: row.input, chosen: row.chosen, rejected: row.rejected });
      continue;
    }
    const scored = row.responses ?? [];
    for (let i = 0; i < scored.length; i++) {
      for (let j = i + 1; j < scored.length; j++) {
        const [a, b] = [scored[i], scored[j]];
        if (a.score === b.score) continue; // a tie says nothing about which is better
        const [win, lose] = a.score > b.score ? [a, b] : [b, a];
        out.push({ instruction: row.instruction, input: row.input, chosen: win.response, rejected: lose.response, scoreGap: win.score - lose.score });
      }
    }
  }
  return out;
}

/** Tokenizes a pair with the Alpaca template or the model's chat template; `margins` keeps score gaps. */
export function pairExample(tokenizer: TextTokenizer, row: PairRow, format: 'alpaca' | 'chat', options: ExampleOptions & { margins: boolean }): { example: PairExample; truncated: boolean } {
  const make = format === 'chat' ? chatExample : alpacaExample;
  const side = (output: string) => make(tokenizer, { instruction: row.instruction, input: row.input, output } satisfies InstructionRow, options);
  const chosen = side(row.chosen);
  const rejected = side(row.rejected);
  return {
    example: { chosen: chosen.example, rejected: rejected.example, margin: options.margins ? (row.scoreGap ?? 0) : 0 },
    truncated: chosen.truncated || rejected.truncated,
  };
}

/**
 * Pre-tokenized pairs, one JSON object per line: {"chosen_ids": [...], "rejected_ids": [...]} (every token
 * labelled), or {"chosen": {"input_ids", "labels"}, "rejected": {"input_ids", "labels"}}. Every row is checked
 * before any is returned.
 */
export function parseTokenizedPairs(text: string, vocabSize: number): PairExample[] {
  const idMessage = `must be an integer token id from 0 to ${vocabSize - 1}`;
  const id = z.number(idMessage).int(idMessage).min(0, idMessage).max(vocabSize - 1, idMessage);
  const ids = z.array(id, 'must be a list of token ids').min(1, 'must not be empty');
  const label = z.number().refine((x) => x === -100 || (Number.isInteger(x) && x >= 0 && x < vocabSize), `must be -100 or a token id below ${vocabSize}`);
  const side = z.looseObject({ input_ids: ids, labels: z.array(label) });
  const flat = z.looseObject({ chosen_ids: ids, rejected_ids: ids });
  const labelled = z.looseObject({ chosen: side, rejected: side });
  const pairs: PairExample[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new TrainDataError(`not JSON (${(e as Error).message})`, i + 1);
    }
    const example = (s: { input_ids: number[]; labels: number[] }, which: string): TrainExample => {
      if (s.labels.length !== s.input_ids.length) throw new TrainDataError(`${which}.labels has ${s.labels.length} entries but ${which}.input_ids has ${s.input_ids.length}`, i + 1);
      return { inputIds: s.input_ids, labels: s.labels };
    };
    const asFlat = flat.safeParse(value);
    const asLabelled = labelled.safeParse(value);
    if (asFlat.success) {
      const { chosen_ids: chosen, rejected_ids: rejected } = asFlat.data;
      pairs.push({ chosen: { inputIds: chosen, labels: chosen }, rejected: { inputIds: rejected, labels: rejected }, margin: 0 });
    } else if (asLabelled.success) {
      pairs.push({ chosen: example(asLabelled.data.chosen, 'chosen'), rejected: example(asLabelled.data.rejected, 'rejected'), margin: 0 });
    } else {
      const issue = (value !== null && typeof value === 'object' && 'chosen_ids' in value ? asFlat : asLabelled).error!.issues[0];
      const where = issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : String(key))).join('');
      throw new TrainDataError(`${where ? `${where} ` : ''}${issue.message}: expected {"chosen_ids": [...], "rejected_ids": [...]} or {"chosen": {"input_ids", "labels"}, "rejected": {...}}`, i + 1);
    }
  }
  if (!pairs.length) throw new TrainDataError('the file has no pairs: expected one {"chosen_ids": [...], "rejected_ids": [...]} object per line');
  return pairs;
}

/** Pairs from a data file: pre-tokenized pair rows, or a dataset file with chosen/rejected or scored responses. */
export function pairsFromText(text: string, tokenizer: TextTokenizer | null, vocabSize: number, options: ExampleOptions & { margins: boolean }): { pairs: PairExample[]; truncated: number } {
  if (/^\s*\{[^\n]*"(chosen_ids|chosen)"\s*:\s*[[{]/.test(text)) return { pairs: parseTokenizedPairs(text, vocabSize), truncated: 0 };
  if (!tokenizer) throw new TrainDataError('this model has no tokenizer.json', undefined, 'Give pre-tokenized pairs {"chosen_ids": [...], "rejected_ids": [...]} instead of text.');
  const rows = pairRows(parseDataset(text).rows);
  if (!rows.length) throw new TrainDataError('the file has no preference pairs', undefined, 'Give rows with chosen and rejected responses, or scored responses (comparison data).');
  let truncated = 0;
  const pairs = rows.map((row) => {
    const made = pairExample(tokenizer, row, 'alpaca', options);
    if (made.truncated) truncated++;
    return made.example;
  });
  return { pairs, truncated };
}

/** Seeded shuffle, then batches of `batchSize` pairs; the same (pairs, batchSize, seed) gives the same batches. */
export function makePairBatches(pairs: PairExample[], batchSize: number, seed: number, padId: number): PairBatch[] {
  return shuffledChunks(pairs, batchSize, seed).map((chunk) => pairBatch(chunk, padId));
}

/** The items shuffled (seeded) and cut into chunks of `size` (the last may be smaller). */
export function shuffledChunks<X>(items: X[], size: number, seed: number): X[][] {
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`batchSize must be a positive integer, got ${size}`);
  const order = shuffle(items.map((_, i) => i), mulberry32(seed));
  const chunks: X[][] = [];
  for (let s = 0; s < order.length; s += size) chunks.push(order.slice(s, s + size).map((i) => items[i]));
  return chunks;
}

/** The pairs as one batch, in their order. */
export function pairBatch(pairs: PairExample[], padId: number): PairBatch {
  const rows = [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)];
  return {
    ...padBatch(rows, padId),
    P: pairs.length,
    lengths: Uint32Array.from(rows, (r) => r.inputIds.length),
    margins: Float32Array.from(pairs, (p) => p.margin),
  };
}
