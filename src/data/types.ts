// What a dataset row is, whatever file it came from. Every import format maps onto Row; exports map back.

export interface Turn {
  from: 'human' | 'gpt' | 'system' | string;
  value: string;
}

export interface ScoredResponse {
  response: string;
  score: number;
  /** Which model wrote it, e.g. "gpt4", "text-davinci-003". */
  source: string;
}

/** How a teacher produced a row. */
export interface Provenance {
  model: string;
  temperature: number;
  top_p: number;
  max_tokens: number;
  /** Chinese mode: the model that translated the instruction and input, and the English originals. */
  translator?: string;
  original?: { instruction: string; input: string };
}

export interface RowMeta {
  /** Source identifier: Vicuna question_id, User-Oriented id. */
  id?: string | number;
  category?: string;
  motivationApp?: string;
  /** FastChat questions with several turns keep the later turns here. */
  turns?: string[];
  /** User-Oriented instructions with more than one instance keep all of them here. */
  instances?: { input: string; output: string }[];
  generatedBy?: Provenance;
}

export interface Row {
  instruction: string;
  input: string;
  output: string;
  /** Preference pairs: the preferred and the dispreferred response. */
  chosen?: string;
  rejected?: string;
  /** comparison_data_v2: every response with its GPT-4 score. */
  responses?: ScoredResponse[];
  /** Earlier conversation turns (ShareGPT-style pairs). */
  history?: Turn[];
  /** The reference answer (Unnatural Instructions' label). */
  label?: string;
  meta?: RowMeta;
}

/** A stored row: its dataset and its place in it. */
export interface DatasetRecord extends Row {
  datasetId: string;
  /** Position key, increasing in file order; new rows get the next one. */
  seq: number;
}

export type FormatId =
  | 'alpaca'
  | 'unnatural'
  | 'comparison'
  | 'vicuna80'
  | 'fastchat-question'
  | 'user-oriented'
  | 'pairs-sharegpt'
  | 'pairs-prompt';

export type DatasetOrigin =
  | { kind: 'file'; name: string }
  | { kind: 'url'; url: string }
  | { kind: 'paste' }
  | { kind: 'job'; jobId: string }
  | { kind: 'derived'; from: string; how: 'train' | 'validation' | 'dedupe' };

/** A row that dedupe left out, kept so it can be put back. */
export interface DedupeRemoval {
  /** Its place in the source, which is the seq it takes when put back into the deduped dataset. */
  seq: number;
  /** The kept row it nearly repeats: that row's seq in the deduped dataset. */
  keptSeq: number;
  /** ROUGE-L F-measure of the two instructions. */
  score: number;
  row: Row;
}

export interface DedupeReport {
  threshold: number;
  /** In source order; rows put back leave the list. */
  removed: DedupeRemoval[];
}

export interface DatasetMeta {
  id: string;
  name: string;
  format: FormatId;
  origin: DatasetOrigin;
  rowCount: number;
  /** The next free seq. */
  nextSeq: number;
  createdAt: number;
  updatedAt: number;
  /** A deduped dataset: the rows dedupe left out. */
  dedupe?: DedupeReport;
}
