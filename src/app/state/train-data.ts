// The Train page's pure parts: which rows and pairs a dataset trains on, pre-tokenized data cut at max length,
// and the numbers the run monitor reads from a run's events.
import type { Row } from '../../data/types';
import type { InstructionRow, TrainExample } from '../../train/data';
import { pairRows, type PairExample, type PairRow } from '../../train/pairs';
import type { TrainEvent } from '../../train/run';

/** Rows a dataset can train on: an instruction and an output. */
export function trainableRows(rows: readonly { instruction: string; input: string; output: string }[]): InstructionRow[] {
  return rows.filter((r) => r.instruction.trim() && r.output.trim()).map((r) => ({ instruction: r.instruction, input: r.input, output: r.output }));
}

/** The preference pairs of a dataset's rows, and how many rows yield none (no chosen/rejected, or only tied scores). */
export function pairsOfRows(rows: readonly Row[]): { pairs: PairRow[]; pairless: number } {
  const pairs: PairRow[] = [];
  let pairless = 0;
  for (const row of rows) {
    const own = pairRows([row]);
    if (!own.length) pairless++;
    for (const pair of own) pairs.push(pair);
  }
  return { pairs, pairless };
}

export function cutExample(e: TrainExample, maxLen: number): TrainExample {
  return e.inputIds.length <= maxLen ? e : { inputIds: e.inputIds.slice(0, maxLen), labels: e.labels.slice(0, maxLen) };
}

/** Pre-tokenized rows cut to maxLen, with how many were cut. */
export function cutExamples(examples: readonly TrainExample[], maxLen: number): { examples: TrainExample[]; truncated: number } {
  const truncated = examples.filter((e) => e.inputIds.length > maxLen).length;
  return { examples: examples.map((e) => cutExample(e, maxLen)), truncated };
}

/** Pre-tokenized pairs with each side cut to maxLen (as text pairs are), with how many pairs were cut. */
export function cutPairs(pairs: readonly PairExample[], maxLen: number): { pairs: PairExample[]; truncated: number } {
  const truncated = pairs.filter((p) => p.chosen.inputIds.length > maxLen || p.rejected.inputIds.length > maxLen).length;
  return { pairs: pairs.map((p) => ({ ...p, chosen: cutExample(p.chosen, maxLen), rejected: cutExample(p.rejected, maxLen) })), truncated };
}

export type EventValue =
  | 'loss'
  | 'valLoss'
  | 'tokensPerSecond'
  | 'accuracy'
  | 'valAccuracy'
  | 'margin'
  | 'valMargin'
  | 'chosenReward'
  | 'rejectedReward'
  | 'valChosenReward'
  | 'valRejectedReward'
  | 'valPairs';

/** The latest value of `key` among the events (they are in step order), or null. */
export function lastValue(events: readonly TrainEvent[], key: EventValue): number | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const value = events[i][key];
    if (value !== undefined) return value;
  }
  return null;
}

/**
 * The Wilson score 95% interval of an accuracy measured on n pairs (Wilson 1927): unlike the normal approximation it
 * stays inside [0, 1] and is not empty at 0% or 100%, which small held-out sets often show.
 */
export function wilsonInterval(accuracy: number, n: number): [number, number] {
  const z = 1.959964;
  const centre = (accuracy + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z / (1 + (z * z) / n)) * Math.sqrt((accuracy * (1 - accuracy)) / n + (z * z) / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Whether a run stopped because its loss became NaN or infinite. */
export function diverged(error: string | null): boolean {
  return error !== null && /the loss became/.test(error);
}

/** Seconds as "1 h 02 min", "3 min 05 s" or "12 s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  return `${s} s`;
}

