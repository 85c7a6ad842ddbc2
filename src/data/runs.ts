// RunStore: training runs (SFT, reward model and DPO) in StudioDB. A run keeps what it needs to resume after a reload
// or a lost GPU: its kind and settings, a reference to its data (or the pre-tokenized rows or pairs themselves),
// its curve, and its latest checkpoint (a DPO checkpoint carries the reference log-probs). A checkpoint and the curve up to its step are written in one transaction,
// so a resumed run continues the curve exactly where the checkpoint left it.
import type { IDBPDatabase } from 'idb';
import type { TrainExample } from '../train/data';
import type { PairExample } from '../train/pairs';
import { defaultDpoSettings, type Checkpoint, type DpoSettings, type RewardSettings, type TrainEvent } from '../train/run';
import { openStudioDB, rangeOf, type StudioDB } from './db';
import type { CheckpointRecord, RunDataRecord, RunKind, RunRecord } from './run-records';
import { commit, newId } from './store';

export type { RunStatus, RunKind, RunData, ModelRef, RunModel, RunRecord, RunStart, CheckpointRecord, RunDataRecord } from './run-records';

export class RunNotFoundError extends Error {
  override name = 'RunNotFoundError';
  constructor(id: string) {
    super(`training run ${id} does not exist (deleted in another tab?): reload the Train page`);
  }
}

export function packExamples(runId: string, examples: readonly TrainExample[]): RunDataRecord {
  const offsets = new Uint32Array(examples.length + 1);
  examples.forEach((e, i) => (offsets[i + 1] = offsets[i] + e.inputIds.length));
  const inputIds = new Uint32Array(offsets[examples.length]);
  const labels = new Int32Array(offsets[examples.length]);
  examples.forEach((e, i) => {
    inputIds.set(e.inputIds, offsets[i]);
    labels.set(e.labels, offsets[i]);
  });
  return { runId, offsets, inputIds, labels };
}

/** Pairs packed as rows: pair p is row 2p (chosen) and row 2p + 1 (rejected). */
export function packPairs(runId: string, pairs: readonly PairExample[]): RunDataRecord {
  return { ...packExamples(runId, pairs.flatMap((p) => [p.chosen, p.rejected])), margins: Float32Array.from(pairs, (p) => p.margin) };
}

export function unpackPairs(record: RunDataRecord): PairExample[] {
  const { margins } = record;
  if (!margins) throw new Error('these pre-tokenized rows are not pairs');
  const rows = unpackExamples(record);
  return Array.from(margins, (margin, p) => ({ chosen: rows[2 * p], rejected: rows[2 * p + 1], margin }));
}

/** Whether a run trains on preference pairs (a reward model or DPO) rather than instruction rows. */
export function trainsOnPairs(kind: RunKind): boolean {
  return kind !== 'sft';
}

/** A run's kind; runs stored before reward models are SFT runs. */
export function runKind(run: Pick<RunRecord, 'kind'>): RunKind {
  return run.kind ?? 'sft';
}

/** A reward model run's settings (margin off unless it was on). */
export function rewardSettingsOf(run: Pick<RunRecord, 'settings'>): RewardSettings {
  return { ...run.settings, margin: 'margin' in run.settings ? run.settings.margin : false };
}

/** A DPO run's settings (beta at its default if it was missing). */
export function dpoSettingsOf(run: Pick<RunRecord, 'settings'>): DpoSettings {
  return { ...run.settings, beta: 'beta' in run.settings ? run.settings.beta : defaultDpoSettings.beta };
}

export function unpackExamples(record: RunDataRecord): TrainExample[] {
  const { offsets, inputIds, labels } = record;
  return Array.from({ length: offsets.length - 1 }, (_, i) => ({
    inputIds: Array.from(inputIds.subarray(offsets[i], offsets[i + 1])),
    labels: Array.from(labels.subarray(offsets[i], offsets[i + 1])),
  }));
}

export type NewRun = Omit<RunRecord, 'id' | 'createdAt' | 'updatedAt' | 'status' | 'checkpointStep' | 'events' | 'error' | 'truncated'>;

export class RunStore {
  constructor(readonly db: IDBPDatabase<StudioDB>) {}

  static async open(name?: string): Promise<RunStore> {
    return new RunStore(await openStudioDB(name));
  }

  /**
   * Stores a new run (status 'running'), with its pre-tokenized rows when it has them, in one transaction: an SFT
   * run's examples, a reward model or DPO run's pairs. `truncated` counts rows (pairs) already cut at maxLen.
   */
  async create(run: NewRun, rows?: readonly TrainExample[] | readonly PairExample[], truncated = 0): Promise<RunRecord> {
    if ((run.data.kind === 'tokenized') !== (rows !== undefined)) {
      throw new Error('a run from a pre-tokenized file stores its rows, and only such a run does');
    }
    const kind = runKind(run);
    const pairs = trainsOnPairs(kind);
    if (rows?.some((row) => ('chosen' in row) !== pairs)) {
      throw new Error(pairs ? `a ${kind === 'dpo' ? 'DPO' : 'reward model'} run stores preference pairs, not rows` : 'an SFT run stores rows, not preference pairs');
    }
    const now = Date.now();
    const record: RunRecord = { ...run, kind, id: newId(), createdAt: now, updatedAt: now, status: 'running', checkpointStep: null, events: [], error: null, truncated };
    const tx = this.db.transaction(['runs', 'runData'], 'readwrite');
    await commit(tx, function* () {
      yield tx.objectStore('runs').put(record);
      if (rows) yield tx.objectStore('runData').put(pairs ? packPairs(record.id, rows as readonly PairExample[]) : packExamples(record.id, rows as readonly TrainExample[]));
    });
    return record;
  }

  /** Every run, newest first. */
  async list(): Promise<RunRecord[]> {
    return (await this.db.getAllFromIndex('runs', 'byCreated')).reverse();
  }

  async get(id: string): Promise<RunRecord> {
    const run = await this.db.get('runs', id);
    if (!run) throw new RunNotFoundError(id);
    return run;
  }

  /** The pre-tokenized rows of an SFT run started from a file. */
  async examples(id: string): Promise<TrainExample[]> {
    const record = await this.db.get('runData', id);
    if (!record) throw new Error(`the pre-tokenized rows of this run are missing from the browser's storage: start a new run from the file`);
    if (record.margins) throw new Error('this run trained on preference pairs: read them with pairs()');
    return unpackExamples(record);
  }

  /** The pre-tokenized pairs of a reward model or DPO run started from a file. */
  async pairs(id: string): Promise<PairExample[]> {
    const record = await this.db.get('runData', id);
    if (!record) throw new Error(`the pre-tokenized pairs of this run are missing from the browser's storage: start a new run from the file`);
    return unpackPairs(record);
  }

  /**
   * Stores a checkpoint as the run's only one (older ones are deleted) and the run's curve up to its step,
   * in one transaction: after a reload the curve and the checkpoint agree.
   */
  async saveCheckpoint(id: string, checkpoint: Checkpoint, events: readonly TrainEvent[]): Promise<RunRecord> {
    const tx = this.db.transaction(['runs', 'checkpoints'], 'readwrite');
    const run = await tx.objectStore('runs').get(id);
    if (!run) {
      tx.abort();
      await tx.done.catch(() => {});
      throw new RunNotFoundError(id);
    }
    const checkpoints = tx.objectStore('checkpoints');
    const older = (await checkpoints.getAllKeys(rangeOf(id))).filter(([, step]) => step !== checkpoint.step);
    const updated: RunRecord = { ...run, checkpointStep: checkpoint.step, events: events.filter((e) => e.step <= checkpoint.step), updatedAt: Date.now() };
    const record: CheckpointRecord = { ...checkpoint, runId: id, savedAt: Date.now() };
    await commit(tx, function* () {
      yield checkpoints.put(record);
      for (const key of older) yield checkpoints.delete(key);
      yield tx.objectStore('runs').put(updated);
    });
    return updated;
  }

  /** The run's stored checkpoint, or null before its first. */
  async checkpoint(id: string): Promise<Checkpoint | null> {
    const records = await this.db.getAll('checkpoints', rangeOf(id));
    const latest = records.at(-1);
    if (!latest) return null;
    const { runId: _r, savedAt: _s, ...checkpoint } = latest;
    return checkpoint;
  }

  /** Changes a run's status (and error, curve, truncation count) without touching its checkpoint. */
  async update(id: string, patch: Partial<Pick<RunRecord, 'status' | 'error' | 'events' | 'truncated' | 'totalSteps' | 'name'>>): Promise<RunRecord> {
    const tx = this.db.transaction('runs', 'readwrite');
    const run = await tx.store.get(id);
    if (!run) {
      tx.abort();
      await tx.done.catch(() => {});
      throw new RunNotFoundError(id);
    }
    const updated = { ...run, ...patch, updatedAt: Date.now() };
    await commit(tx, function* () {
      yield tx.store.put(updated);
    });
    return updated;
  }

  /** Deletes a run with its checkpoint and rows. */
  async remove(id: string): Promise<void> {
    const tx = this.db.transaction(['runs', 'checkpoints', 'runData'], 'readwrite');
    await commit(tx, function* () {
      yield tx.objectStore('checkpoints').delete(rangeOf(id));
      yield tx.objectStore('runData').delete(id);
      yield tx.objectStore('runs').delete(id);
    });
  }
}

/** The curve a resumed run continues from: the events up to its checkpoint (none without one). */
export function resumeEvents(run: RunRecord): TrainEvent[] {
  const upTo = run.checkpointStep ?? 0;
  return run.events.filter((e) => e.step <= upTo);
}
