// Training data on the CPU: instruction rows -> token ids with labels, pre-tokenized JSONL rows, and padded
// batches grouped by length. Labels follow the Hugging Face convention: they align with input ids, -100 marks a
// position that is not trained, and the shift (position t predicts token t+1) happens when a batch is built.
import { z } from 'zod';
import { mulberry32, splitIndices } from '../data/split';
import { alpacaPrompt } from '../tokenizer/templates';
import type { TextTokenizer } from '../tokenizer/tokenizer';

/** The label of a position that is not trained. */
export const IGNORE_INDEX = -100;

export interface TrainExample {
  inputIds: number[]; // (T)
  labels: number[]; // (T), IGNORE_INDEX where not trained
}

export interface InstructionRow {
  instruction: string;
  input?: string;
  output: string;
}

export interface ExampleOptions {
  /** Train on the prompt too (Alpaca's default is the response and EOS only). */
  trainOnInputs: boolean;
  /** Longer examples keep their first maxLen tokens. */
  maxLen: number;
}

/** A data file or row that cannot be trained on; says where and why. */
export class TrainDataError extends Error {
  override name = 'TrainDataError';
  constructor(
    readonly reason: string,
    /** 1-based line of the data file, when the problem is one row. */
    readonly line?: number,
    advice = 'Fix the data and load it again; nothing was loaded.',
  ) {
    super(`${line === undefined ? '' : `line ${line}: `}${reason}. ${advice}`);
  }
}

/**
 * Stanford Alpaca's SFT example: [BOS if the tokenizer adds one] + prompt + output + EOS, with the prompt's
 * labels masked unless trainOnInputs. Prompt and output are encoded separately (special tokens not parsed), so
 * the boundary is exact; the EOS is added as an id, never as text.
 */
export function alpacaExample(
  tokenizer: TextTokenizer,
  row: InstructionRow,
  options: ExampleOptions,
): { example: TrainExample; truncated: boolean } {
  const prompt = tokenizer.encode(alpacaPrompt(row.instruction, row.input ?? '')); // BOS as the tokenizer does
  const response = [...tokenizer.encode(row.output, { addBos: false }), eosOf(tokenizer)];
  return finish(prompt, response, options);
}

/**
 * An example in the model's chat template: user = instruction (+ blank line + input), assistant = output.
 * Only the assistant reply and the end token the template closes it with are trained (unless trainOnInputs);
 * template text after that end token is dropped, as it would carry no loss.
 */
export function chatExample(
  tokenizer: TextTokenizer,
  row: InstructionRow,
  options: ExampleOptions,
): { example: TrainExample; truncated: boolean } {
  const user = { role: 'user', content: row.input ? `${row.instruction}\n\n${row.input}` : row.instruction };
  const prompt = tokenizer.encodeChat([user], { addGenerationPrompt: true });
  const full = tokenizer.encodeChat([user, { role: 'assistant', content: row.output }], { addGenerationPrompt: false });
  if (full.length < prompt.length || prompt.some((id, t) => full[t] !== id)) {
    throw new TrainDataError(
      'the chat template does not render the conversation as the prompt followed by the reply, so the reply cannot be told apart from the prompt',
      undefined,
      'Train with the Alpaca template instead.',
    );
  }
  const tail = full.slice(prompt.length);
  // Message contents are encoded as plain text, so the first EOS in the tail is the template's end token.
  const end = tail.findIndex((id) => tokenizer.eosIds.includes(id));
  const response = end >= 0 ? tail.slice(0, end + 1) : [...tail, eosOf(tokenizer)];
  return finish(prompt, response, options);
}

function eosOf(tokenizer: TextTokenizer): number {
  const eos = tokenizer.eosIds[0];
  if (eos === undefined) {
    throw new TrainDataError(
      'the tokenizer has no EOS token, so a trained response could not end',
      undefined,
      'Add eos_token to tokenizer_config.json, or give pre-tokenized rows {input_ids, labels}.',
    );
  }
  return eos;
}

function finish(prompt: number[], response: number[], { trainOnInputs, maxLen }: ExampleOptions) {
  if (!Number.isSafeInteger(maxLen) || maxLen < 1) throw new RangeError(`maxLen must be a positive integer, got ${maxLen}`);
  const inputIds = [...prompt, ...response];
  const labels = [...(trainOnInputs ? prompt : prompt.map(() => IGNORE_INDEX)), ...response];
  const truncated = inputIds.length > maxLen;
  return { example: { inputIds: inputIds.slice(0, maxLen), labels: labels.slice(0, maxLen) }, truncated };
}

/**
 * Pre-tokenized JSON Lines, one {input_ids, labels} object per line (other keys such as attention_mask are
 * ignored). Every row is checked before any is returned: the first bad one throws TrainDataError with its line.
 */
export function parseTokenizedJsonl(text: string, vocabSize: number): TrainExample[] {
  const idMessage = `must be an integer token id from 0 to ${vocabSize - 1}`;
  const id = z.number(idMessage).int(idMessage).min(0, idMessage).max(vocabSize - 1, idMessage);
  const labelMessage = `must be ${IGNORE_INDEX} (not trained) or an integer token id from 0 to ${vocabSize - 1}`;
  const label = z.number(labelMessage).refine((x) => x === IGNORE_INDEX || (Number.isInteger(x) && x >= 0 && x < vocabSize), labelMessage);
  const schema = z.looseObject({
    input_ids: z.array(id, 'must be a list of token ids').min(1, 'must not be empty'),
    labels: z.array(label, 'must be a list of labels'),
  });

  const examples: TrainExample[] = [];
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new TrainDataError(`not JSON (${(e as Error).message})`, i + 1);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : String(key))).join('');
      throw new TrainDataError(where ? `${where} ${issue.message}` : issue.message, i + 1);
    }
    const { input_ids: inputIds, labels } = parsed.data;
    if (labels.length !== inputIds.length) {
      throw new TrainDataError(`labels has ${labels.length} entries but input_ids has ${inputIds.length}; they must align one to one`, i + 1);
    }
    examples.push({ inputIds, labels });
  }
  if (!examples.length) throw new TrainDataError('the file has no rows: expected one {"input_ids": [...], "labels": [...]} object per line');
  return examples;
}

/** One padded batch, row-major (b, t). */
export interface Batch {
  B: number;
  T: number;
  inputIds: Uint32Array; // (B, T), padding = padId
  targets: Int32Array; // (B, T): labels[b][t+1]; -100 at each row's last position and on padding
  tokens: number; // real (unpadded) tokens
  trainedTokens: number; // targets != -100
}

/** Batches sorted by length inside windows of this many, so padding stays small but order stays random. */
const BATCHES_PER_WINDOW = 50;

/**
 * Shuffles the examples (seeded), sorts each window of 50 batches' worth by length so a batch holds similar
 * lengths, cuts batches of batchSize (the last may be smaller), shuffles the batch order and pads each batch to
 * its longest example. The same (examples, batchSize, seed) always gives the same batches.
 */
export function makeBatches(examples: TrainExample[], batchSize: number, seed: number, padId: number): Batch[] {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isSafeInteger(padId) || padId < 0) throw new RangeError(`padId must be a token id, got ${padId}`);
  for (const [i, e] of examples.entries()) {
    if (e.inputIds.length === 0 || e.labels.length !== e.inputIds.length) {
      throw new TrainDataError(`example ${i + 1} has ${e.inputIds.length} input ids and ${e.labels.length} labels`, undefined, 'Every example needs as many labels as input ids, at least one.');
    }
  }
  const rand = mulberry32(seed);
  const order = shuffle(examples.map((_, i) => i), rand);
  const window = batchSize * BATCHES_PER_WINDOW;
  const groups: number[][] = [];
  for (let w = 0; w < order.length; w += window) {
    const sorted = order.slice(w, w + window).sort((a, b) => examples[b].inputIds.length - examples[a].inputIds.length);
    for (let s = 0; s < sorted.length; s += batchSize) groups.push(sorted.slice(s, s + batchSize));
  }
  return shuffle(groups, rand).map((group) => padBatch(group.map((i) => examples[i]), padId));
}

/** Rows padded to the longest with padId, targets shifted as in a training batch. */
export function padBatch(rows: TrainExample[], padId: number): Batch {
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.inputIds.length));
  const inputIds = new Uint32Array(B * T).fill(padId);
  const targets = new Int32Array(B * T).fill(IGNORE_INDEX);
  let tokens = 0;
  let trainedTokens = 0;
  rows.forEach((row, b) => {
    const n = row.inputIds.length;
    inputIds.set(row.inputIds, b * T);
    tokens += n;
    for (let t = 0; t + 1 < n; t++) {
      targets[b * T + t] = row.labels[t + 1];
      if (row.labels[t + 1] !== IGNORE_INDEX) trainedTokens++;
    }
  });
  return { B, T, inputIds, targets, tokens, trainedTokens };
}

/** The positions of a batch whose target is trained (not -100), ascending. */
export function trainedRows(targets: Int32Array): Uint32Array {
  const rows: number[] = [];
  targets.forEach((t, i) => {
    if (t !== IGNORE_INDEX) rows.push(i);
  });
  return Uint32Array.from(rows);
}

/** Fisher-Yates in place. */
export function shuffle<X>(items: X[], rand: () => number): X[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** A seeded train/validation split: round(n * valFraction) examples go to validation; both keep input order. */
export function splitExamples<X>(examples: X[], valFraction: number, seed: number): { train: X[]; val: X[] } {
  const { train, validation } = splitIndices(examples.length, valFraction, seed);
  return { train: train.map((i) => examples[i]), val: validation.map((i) => examples[i]) };
}
