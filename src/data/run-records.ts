// The records StudioDB keeps for training runs: the run, its latest checkpoint and its pre-tokenized data. Types
// only, so the schema and RunStore need not import each other.
import type { Checkpoint, DpoSettings, RewardSettings, SftSettings, TrainEvent } from '../train/run';

/** 'running' in the database but not in this page means the page was closed or reloaded mid-run. */
export type RunStatus = 'running' | 'paused' | 'finished' | 'failed';

/**
 * What a run trains: an SFT adapter, a reward model (adapter + score head) on preference pairs, or a DPO policy
 * adapter on preference pairs (a causal-LM adapter, used like an SFT one).
 */
export type RunKind = 'sft' | 'reward' | 'dpo';

export type RunData =
  /**
   * Rows of a stored dataset, tokenized with the prompt format: instruction rows (SFT) or the preference pairs
   * its rows yield (reward model, DPO). The dataset must not change.
   */
  | { kind: 'dataset'; datasetId: string; name: string; format: 'alpaca' | 'chat'; rowCount: number; updatedAt: number }
  /** Pre-tokenized {input_ids, labels} rows (SFT) or {chosen_ids, rejected_ids} pairs (rowCount pairs) from a file, kept in the runData store. */
  | { kind: 'tokenized'; name: string; rowCount: number };

/** Where a model was loaded from, so it can be loaded again without asking: the Hub (cached), or a local folder kept in the browser. */
export type ModelRef = { kind: 'hub'; id: string; endpoint?: string } | { kind: 'kept'; key: string; name: string };

/** The model a run trains, so a resume can refuse a different one (and, with `from`, load it again after a reload). */
export interface RunModel {
  label: string;
  parameterCount: number;
  vocabSize: number;
  from?: ModelRef;
}

export interface RunRecord {
  id: string;
  /** Absent in runs stored before reward models existed: those are SFT runs (read it with runKind()). */
  kind?: RunKind;
  name: string;
  createdAt: number;
  updatedAt: number;
  model: RunModel;
  data: RunData;
  /** A reward model run's are RewardSettings (with `margin`), a DPO run's DpoSettings (with `beta`). */
  settings: SftSettings | RewardSettings | DpoSettings;
  /**
   * DPO: the SFT run whose checkpoint (at `step`) the policy started from and the reference is; absent when both
   * start as the base model. A resume without a checkpoint of its own reads that adapter again.
   */
  start?: RunStart;
  maxLen: number;
  trainOnInputs: boolean;
  status: RunStatus;
  totalSteps: number;
  /** Step of the stored checkpoint; null before the first one. */
  checkpointStep: number | null;
  /** Every event up to checkpointStep (or to the end, once finished or failed), in step order. */
  events: TrainEvent[];
  /** Why a failed run stopped. */
  error: string | null;
  /** Rows cut at maxLen. */
  truncated: number;
}

export interface RunStart {
  runId: string;
  name: string;
  step: number;
}

export interface CheckpointRecord extends Checkpoint {
  runId: string;
  savedAt: number;
}

/**
 * Pre-tokenized rows packed into flat arrays: row i is [offsets[i], offsets[i + 1]). A reward model run's pairs
 * are rows too, pair p being row 2p (chosen) and row 2p + 1 (rejected), with their margins.
 */
export interface RunDataRecord {
  runId: string;
  offsets: Uint32Array; // (N + 1)
  inputIds: Uint32Array; // (total tokens)
  labels: Int32Array; // (total tokens), -100 where not trained
  margins?: Float32Array; // (N / 2) only for pairs
}
