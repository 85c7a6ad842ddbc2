// RunStore: training runs in StudioDB. A run keeps what it needs to resume after a reload or a lost GPU: its
// settings, a reference to its data (or the pre-tokenized rows themselves), its curve, and its latest
// checkpoint. A checkpoint and the curve up to its step are written in one transaction, so a resumed run
// continues the curve exactly where the checkpoint left it.
import type { IDBPDatabase } from 'idb';
import type { TrainExample } from '../train/data';
import type { Checkpoint, SftSettings, TrainEvent } from '../train/run';
import { openStudioDB, rangeOf, type StudioDB } from './db';
import { commit, newId } from './store';

/** 'running' in the database but not in this page means the page was closed or reloaded mid-run. */
export type RunStatus = 'running' | 'paused' | 'finished' | 'failed';

export type RunData =
  /** Instruction rows of a stored dataset, tokenized with the prompt format; the dataset must not change. */
  | { kind: 'dataset'; datasetId: string; name: string; format: 'alpaca' | 'chat'; rowCount: number; updatedAt: number }
  /** Pre-tokenized {input_ids, labels} rows from a file, kept in the runData store. */
  | { kind: 'tokenized'; name: string; rowCount: number };

/** The model a run trains, so a resume can refuse a different one. */
export interface RunModel {
  label: string;
  parameterCount: number;
  vocabSize: number;
}

export interface RunRecord {
  id: string;
  name: string;
  createdAt: number;
  updatedAt: number;
  model: RunModel;
  data: RunData;
  settings: SftSettings;
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

export interface CheckpointRecord extends Checkpoint {
  runId: string;
  savedAt: number;
}

/** Pre-tokenized rows packed into flat arrays: row i is [offsets[i], offsets[i + 1]). */
export interface RunDataRecord {
  runId: string;
  offsets: Uint32Array; // (N + 1)
  inputIds: Uint32Array; // (total tokens)
  labels: Int32Array; // (total tokens), -100 where not trained
}

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

  /** Stores a new run (status 'running'), with its pre-tokenized rows when it has them, in one transaction. */
  async create(run: NewRun, examples?: readonly TrainExample[]): Promise<RunRecord> {
    if ((run.data.kind === 'tokenized') !== (examples !== undefined)) {
      throw new Error('a run from a pre-tokenized file stores its rows, and only such a run does');
    }
    const now = Date.now();
    const record: RunRecord = { ...run, id: newId(), createdAt: now, updatedAt: now, status: 'running', checkpointStep: null, events: [], error: null, truncated: 0 };
    const tx = this.db.transaction(['runs', 'runData'], 'readwrite');
    await commit(tx, function* () {
      yield tx.objectStore('runs').put(record);
      if (examples) yield tx.objectStore('runData').put(packExamples(record.id, examples));
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

  /** The pre-tokenized rows of a run started from a file. */
  async examples(id: string): Promise<TrainExample[]> {
    const record = await this.db.get('runData', id);
    if (!record) throw new Error(`the pre-tokenized rows of this run are missing from the browser's storage: start a new run from the file`);
    return unpackExamples(record);
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
