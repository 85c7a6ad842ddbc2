// Training examples from a data file's text: pre-tokenized JSONL rows {input_ids, labels}, or any
// instruction dataset the Datasets page imports (Alpaca JSON/JSONL and friends), tokenized with the
// Alpaca template and response-only labels. Reports how many rows were cut at maxLen.
import { parseDataset } from '../data/formats';
import type { TextTokenizer } from '../tokenizer/tokenizer';
import { alpacaExample, parseTokenizedJsonl, type TrainExample } from './data';

export interface ExampleOptions {
  maxLen: number;
  trainOnInputs: boolean;
}

export function examplesFromText(
  text: string,
  tokenizer: TextTokenizer | null,
  vocabSize: number,
  options: ExampleOptions,
): { examples: TrainExample[]; truncated: number } {
  if (/^\s*\{[^\n]*"input_ids"/.test(text)) {
    const rows = parseTokenizedJsonl(text, vocabSize);
    const truncated = rows.filter((r) => r.inputIds.length > options.maxLen).length;
    const examples = rows.map((r) => ({ inputIds: r.inputIds.slice(0, options.maxLen), labels: r.labels.slice(0, options.maxLen) }));
    return { examples, truncated };
  }
  if (!tokenizer) throw new Error('This model folder has no tokenizer.json: give pre-tokenized JSONL rows {input_ids, labels} instead of text rows.');
  const { rows } = parseDataset(text);
  let truncated = 0;
  const examples = rows.map((row) => {
    const made = alpacaExample(tokenizer, row, options);
    if (made.truncated) truncated++;
    return made.example;
  });
  return { examples, truncated };
}
