// The teacher's vocabulary: requests, results, jobs and their rows. Shared by the runner, its stores and the UI.

export interface GenerationParams {
  temperature: number;
  top_p: number;
  max_tokens: number;
}

/** The paper's generation settings. */
export const PAPER_PARAMS: GenerationParams = { temperature: 1.0, top_p: 1.0, max_tokens: 512 };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  params: GenerationParams;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
}

export interface ChatResult {
  text: string;
  /** The model that answered, as the endpoint reports it. */
  model: string;
  usage: Usage;
  finishReason: string | null;
}

/** One chat completion in the request cache, keyed by a hash of (base URL, model, messages, params). */
export interface CacheEntry {
  key: string;
  result: ChatResult;
  createdAt: number;
}

/** USD per million tokens. */
export interface Price {
  input: number;
  output: number;
}

export type PriceTable = Record<string, Price>;

/** The judge's prompt: FastChat's Vicuna reviewer (the paper's) or llm_judge's pair-v2 (see src/eval/judge-prompts.ts). */
export type JudgePromptId = 'vicuna' | 'pair-v2';

export type JobLang = 'en' | 'zh';
export type JobMode = 'online' | 'batch';

export interface JobSpec {
  name: string;
  /** The endpoint; the key is never part of a job. */
  baseURL: string;
  lang: JobLang;
  mode: JobMode;
  teacher: { model: string; params: GenerationParams };
  /** How a row is asked: in Stanford Alpaca's template (teacher data, the default), as the question itself
   * (answer sets for evaluation, as FastChat asks API models), or as GPT-4-LLM's feedback prompt rating the
   * row's response 1-10 (feedback jobs: comparison data and preference pairs, see feedback.ts), or as the judge's
   * prompt comparing the row's two answers (judge jobs: src/eval/judge.ts). */
  prompt?: 'alpaca' | 'question' | 'feedback' | 'judge';
  /** Judge jobs: the judge's prompt, and the judge run (Evaluate page) whose verdicts the rows are. */
  judge?: { prompt: JudgePromptId; runId: string };
  /** Chinese mode: the model that translates instruction and input first. */
  translator?: { model: string; params: GenerationParams };
  concurrency: number;
  /** Tries per request before the row is marked as an error. */
  maxAttempts: number;
  /** Stop launching requests once this many USD are spent; null for no cap. */
  budgetUSD: number | null;
  prices: PriceTable;
  /** Where the instructions came from: a dataset id or a file. */
  source: { datasetId?: string; name: string; digest?: string };
  /** Batch mode: milliseconds between polls of a running batch. */
  pollMs?: number;
}

export type JobStatus = 'ready' | 'running' | 'paused' | 'cancelled' | 'budget' | 'failed' | 'done';

export interface BatchFileState {
  /** Requests in this file. */
  count: number;
  bytes: number;
  /** The first and last row index it covers (rows are planned in index order). */
  from: number;
  to: number;
  inputFileId?: string;
  batchId?: string;
  status?: string;
  outputFileId?: string | null;
  errorFileId?: string | null;
  /** Results joined back onto the rows. */
  imported: boolean;
}

export interface BatchRound {
  round: number;
  files: BatchFileState[];
}

export interface JobRecord {
  id: string;
  spec: JobSpec;
  status: JobStatus;
  total: number;
  createdAt: number;
  updatedAt: number;
  /** Why the job stopped, when it failed. */
  error?: string;
  /** The dataset holding the answers (feedback jobs: the scored responses), once written. */
  outputDatasetId?: string;
  /** Feedback jobs: the dataset of preference pairs formed from the scores, once written. */
  pairsDatasetId?: string;
  /** Batch mode: every round of submitted files, persisted so polling resumes after a reload. */
  batches?: BatchRound[];
}

export type ItemStatus = 'pending' | 'done' | 'error';

/** Feedback jobs: the response a row rates. One text given by several sources for the same prompt is rated once. */
export interface RatedResponse {
  /** Its prompt's place among the job's prompts (the row of the comparison output). */
  group: number;
  response: string;
  /** Every place it holds in its prompt's list of responses: the slot (list order) and who wrote it. */
  uses: { slot: number; source: string }[];
}

/** Judge jobs: one question judged in one order. */
export interface JudgedPair {
  questionId: string;
  category: string;
  /** Which answer set's answer is shown first (as Assistant 1 / Assistant A). */
  first: 'a' | 'b';
  /** The two answers in the order shown. */
  shown: [string, string];
}

export interface JobItem {
  jobId: string;
  index: number;
  instruction: string;
  input: string;
  status: ItemStatus;
  /** Chinese mode: the translated instruction and input (input stays "" when the source has none). */
  translation?: { instruction?: string; input?: string };
  /** Feedback jobs: the response this row rates (instruction and input are its prompt). */
  rates?: RatedResponse;
  /** Judge jobs: the pair this row judges (instruction and input are the question). */
  judges?: JudgedPair;
  /** The answer; feedback jobs: the teacher's verdict, as written (its score is parsed from it). */
  output?: string;
  /** Failed tries since the row was last (re)queued. */
  attempts: number;
  /** The last failure, already redacted. */
  error?: string;
  tokensIn: number;
  tokensOut: number;
  /** USD paid for this row's requests (cache hits are free). */
  cost: number;
  updatedAt: number;
  /** Ask the endpoint again even when the request cache has an answer. */
  fresh?: boolean;
}

/** Where a job lives: IndexedDB in the browser, a JSONL journal in the CLI, memory for one-off runs. */
export interface JobStore {
  /** Stores a new job with all its rows at once. */
  createJob(job: JobRecord, items: readonly JobItem[]): Promise<void>;
  loadJob(id: string): Promise<JobRecord | undefined>;
  saveJob(job: JobRecord): Promise<void>;
  /** Rows in index order. */
  loadItems(jobId: string): Promise<JobItem[]>;
  saveItem(item: JobItem): Promise<void>;
  cacheGet(key: string): Promise<ChatResult | undefined>;
  cachePut(key: string, result: ChatResult): Promise<void>;
}
