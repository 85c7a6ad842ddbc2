// The records the studio keeps for evaluations (eval sets, answer sets, judge and ROUGE runs, score files), as
// StudioDB stores them. Types only, so the schema and the modules that read these records need not import each other.
import type { AnswerRow, EvalItem } from './eval-set';
import type { JudgePromptId } from './judge-prompts';
import type { Verdict } from './judge';
import type { AnswerLengths } from './judge-stats';
import type { RougeReport } from './rouge-report';
import type { ScoreDistribution } from './score-file';

/** "B": sample 1 of each question; k: the k-th best sample by reward (1-based). */
export type RankingGroup = 'B' | number;

/** What an answer set of a ranking run records about its group (in its origin). */
export interface RankingTag {
  /** The ranking run every group of it shares. */
  runId: string;
  group: RankingGroup;
  /** Samples per question. */
  n: number;
  /** The reward model that ranked them (a run or file names). */
  reward: string;
}

export interface EvalSetRecord {
  id: string;
  name: string;
  items: EvalItem[];
  createdAt: number;
}

/** Where an answer set came from: a file, or a model run (sampling recorded; a reranking group says which). */
export type AnswerOrigin =
  | { kind: 'file'; name: string }
  | {
    kind: 'local'; model: string; adapter?: string; temperature: number; top_p: number; top_k: number; seed: number; max_new_tokens: number;
    /** One group of a reward-model ranking run (Rerank page): B or R1..Rn. */
    ranking?: RankingTag;
  }
  | { kind: 'api'; baseURL: string; model: string; temperature: number; top_p: number; max_tokens: number };

export interface AnswerSetRecord {
  id: string;
  /** The model's name as shown in reports ("LLaMA-GPT4 7B", "SmolLM2 + LoRA"). */
  name: string;
  origin: AnswerOrigin;
  rows: AnswerRow[];
  createdAt: number;
}

export interface JudgeRunRecord {
  id: string;
  name: string;
  createdAt: number;
  prompt: JudgePromptId;
  /** The judge: model name and endpoint (never the key). */
  model: string;
  baseURL: string;
  evalSetId: string;
  answerSets: { a: string; b: string };
  labels: { a: string; b: string };
  verdicts: Verdict[];
  /**
   * The judged answers' lengths per question id, recorded when the run starts (so the length-controlled win rate
   * survives a deleted answer set). Runs from before it was recorded have none.
   */
  answerLengths?: Record<string, AnswerLengths>;
}

export interface RougeRunRecord {
  id: string;
  name: string;
  createdAt: number;
  stem: boolean;
  cjk: boolean;
  report: RougeReport;
}

/** A score file (the paper's gpt4_llm_cmp_data_scores.json or one like it), kept as its distributions. */
export interface ScoreFileRecord {
  id: string;
  name: string;
  createdAt: number;
  models: ScoreDistribution[];
}
