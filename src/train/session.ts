// The run lifecycle, shared by the Train page and the CLI: a run record is created before the first step, every
// checkpoint is saved together with the curve up to its step, and a run resumes only on the same model, the same
// data and the same settings, from its last checkpoint with the curve cut there. Where the record lives is a
// RunBook: RunStore (IndexedDB) in the browser, a folder for the CLI. Nothing here knows about Svelte or the page.
import { splitIndices } from '../data/split';
import { resumeEvents, RunNotFoundError, type NewRun, type RunModel, type RunRecord, type RunStatus } from '../data/runs';
import type { TrainExample } from './data';
import type { PairExample } from './pairs';
import { plannedSteps, type Checkpoint, type SftResult, type SftSettings, type TrainEvent } from './run';

/** A stored run, dataset or checkpoint is not what the run needs; the message says what to do. */
export class RunResumeError extends Error {
  override name = 'RunResumeError';
}

/** Where runs and their checkpoints are kept (RunStore implements it). */
export interface RunBook {
  create(run: NewRun, rows?: readonly TrainExample[] | readonly PairExample[], truncated?: number): Promise<RunRecord>;
  get(id: string): Promise<RunRecord>;
  /** The run's latest checkpoint, or null before its first. */
  checkpoint(id: string): Promise<Checkpoint | null>;
  /** Stores a checkpoint and the curve up to its step together. */
  saveCheckpoint(id: string, checkpoint: Checkpoint, events: readonly TrainEvent[]): Promise<RunRecord>;
  update(id: string, patch: Partial<Pick<RunRecord, 'status' | 'error' | 'events' | 'truncated'>>): Promise<RunRecord>;
}

/** The model a run trains as the loaded model describes itself. */
export type LoadedModel = Pick<RunModel, 'label' | 'parameterCount' | 'vocabSize'>;

/** Refuses a run of another model than `model` (null: none loaded); `what` ends the message ("resume it"). */
export function checkModel(run: Pick<RunRecord, 'model'>, model: LoadedModel | null, what: string): void {
  if (!model) throw new RunResumeError(`Load ${run.model.label} first: this run continues on the model it trained.`);
  if (!sameModel(run.model, model)) {
    throw new RunResumeError(`This run trained ${run.model.label}, but ${model.label} is loaded: load ${run.model.label} to ${what}.`);
  }
}

export function sameModel(a: LoadedModel, b: LoadedModel): boolean {
  return a.label === b.label && a.parameterCount === b.parameterCount && a.vocabSize === b.vocabSize;
}

/** Refuses a stored dataset that was deleted (null) or changed since the run started. */
export function checkDataset(run: Pick<RunRecord, 'data'>, dataset: { rowCount: number; updatedAt: number } | null): void {
  const data = run.data;
  if (data.kind !== 'dataset') return;
  if (!dataset) throw new RunResumeError(`The dataset "${data.name}" this run trained on was deleted, so it cannot continue on the same data. Start a new run.`);
  if (dataset.rowCount !== data.rowCount || dataset.updatedAt !== data.updatedAt) {
    throw new RunResumeError(`The dataset "${data.name}" changed after this run started, so it cannot continue on the same data. Start a new run with its settings.`);
  }
}

/** Refuses rows (or pairs) other than those the run stored: the data position of a resumed run is its step. */
export function checkRows(stored: readonly TrainExample[] | readonly PairExample[], rows: readonly TrainExample[] | readonly PairExample[]): void {
  if (rowsKey(stored) !== rowsKey(rows)) {
    throw new RunResumeError(`The data differs from the ${stored.length} rows this run started on, so it cannot continue on the same data. Start a new run.`);
  }
}

function rowsKey(rows: readonly TrainExample[] | readonly PairExample[]): string {
  return JSON.stringify(rows.map((r) => ('chosen' in r ? [r.chosen.inputIds, r.chosen.labels, r.rejected.inputIds, r.rejected.labels, r.margin] : [r.inputIds, r.labels])));
}

/** The settings a run trains with, as a resume compares them. */
export interface RunShape {
  settings: SftSettings;
  maxLen: number;
  trainOnInputs: boolean;
}

/**
 * Settings that do not change what the run computes (how often to log, validate and checkpoint; whether
 * activations are kept or recomputed): a resume may change them.
 */
const bookkeeping = new Set(['logEvery', 'evalEvery', 'checkpointEvery', 'gradientCheckpointing']);

/** Refuses other settings than the run's, naming each that differs (a resumed run's schedule and batches depend on them). */
export function checkSettings(run: RunShape, asked: RunShape): void {
  const differ: string[] = [];
  const theirs = run.settings as unknown as Record<string, unknown>;
  const ours = asked.settings as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(theirs), ...Object.keys(ours)])) {
    if (bookkeeping.has(key)) continue;
    if (JSON.stringify(theirs[key]) !== JSON.stringify(ours[key])) differ.push(`${key} ${JSON.stringify(ours[key])} (the run's: ${JSON.stringify(theirs[key])})`);
  }
  if (run.maxLen !== asked.maxLen) differ.push(`maxLen ${asked.maxLen} (the run's: ${run.maxLen})`);
  if (run.trainOnInputs !== asked.trainOnInputs) differ.push(`trainOnInputs ${asked.trainOnInputs} (the run's: ${run.trainOnInputs})`);
  if (differ.length) throw new RunResumeError(`This run cannot resume with other settings: ${differ.join(', ')}. Resume with the run's settings or start a new run.`);
}

/** Optimizer steps of a run over `rowCount` rows (or pairs) with `settings`, its validation split left out (0: nothing to train). */
export function runTotalSteps(rowCount: number, settings: SftSettings): number {
  const train = rowCount - splitIndices(rowCount, settings.valFraction, settings.seed).validation.length;
  return train > 0 ? plannedSteps(train, settings) : 0;
}

/** Runs and checkpoints kept in memory: the CLI's book when no run folder is given, and the tests'. */
export function memoryRunBook(): RunBook {
  const runs = new Map<string, RunRecord>();
  const checkpoints = new Map<string, Checkpoint>();
  let serial = 0;
  const get = async (id: string) => {
    const run = runs.get(id);
    if (!run) throw new RunNotFoundError(id);
    return run;
  };
  const put = (run: RunRecord) => (runs.set(run.id, run), run);
  return {
    async create(run, _rows, truncated = 0) {
      const now = Date.now();
      return put({ ...run, id: `run-${++serial}`, createdAt: now, updatedAt: now, status: 'running', checkpointStep: null, events: [], error: null, truncated });
    },
    get,
    checkpoint: async (id) => checkpoints.get(id) ?? null,
    async saveCheckpoint(id, checkpoint, events) {
      const run = await get(id);
      checkpoints.set(id, checkpoint);
      return put({ ...run, checkpointStep: checkpoint.step, events: events.filter((e) => e.step <= checkpoint.step), updatedAt: Date.now() });
    },
    update: async (id, patch) => put({ ...(await get(id)), ...patch, updatedAt: Date.now() }),
  };
}

/**
 * One run while it trains: its record, its curve so far, and the bookkeeping between the engine's events and
 * checkpoints (they may arrive on different channels, so a checkpoint waits for its step's event before the curve
 * is stored with it). `onChange` sees every new record and curve.
 */
export class RunSession {
  private waiters: { step: number; resolve: () => void }[] = [];

  private constructor(
    private readonly book: RunBook,
    public run: RunRecord,
    /** The curve so far: the stored one up to the checkpoint a resumed run continues from, then this session's events. */
    public events: TrainEvent[],
    /** The checkpoint the run continues from (null: from step 0). */
    public checkpoint: Checkpoint | null,
    private readonly onChange: (run: RunRecord, events: TrainEvent[]) => void,
  ) {}

  /** Creates the run record (status 'running'), with its pre-tokenized rows or pairs where it has them. */
  static async start(book: RunBook, run: NewRun, rows?: readonly TrainExample[] | readonly PairExample[], truncated = 0, onChange: RunSession['onChange'] = () => {}): Promise<RunSession> {
    const record = await book.create(run, rows, truncated);
    return new RunSession(book, record, [], null, onChange);
  }

  /**
   * Continues a stored run on `model` from its last checkpoint: marks it running again and cuts its curve at the
   * checkpoint. A finished run does not resume; callers check the data and settings (checkDataset, checkRows,
   * checkSettings) before.
   */
  static async resume(book: RunBook, id: string, model: LoadedModel | null, onChange: RunSession['onChange'] = () => {}): Promise<RunSession> {
    const stored = await book.get(id);
    checkModel(stored, model, 'resume it');
    if (stored.status === 'finished') throw new RunResumeError(`"${stored.name}" finished all its ${stored.totalSteps} steps: start a new run to train more.`);
    const checkpoint = await book.checkpoint(id);
    const events = resumeEvents({ ...stored, checkpointStep: checkpoint?.step ?? null });
    const run = await book.update(id, { status: 'running', error: null, events });
    const session = new RunSession(book, run, events, checkpoint, onChange);
    onChange(run, events);
    return session;
  }

  get id(): string {
    return this.run.id;
  }

  /** The step the run continues from. */
  get startStep(): number {
    return this.checkpoint?.step ?? 0;
  }

  /** Adds a step's event to the curve; an event of a step already there changes nothing (returns false). */
  onEvent(event: TrainEvent): boolean {
    if (this.events.length && this.events[this.events.length - 1].step >= event.step) return false;
    this.events = [...this.events, event];
    this.waiters = this.waiters.filter((w) => {
      if (w.step > event.step) return true;
      w.resolve();
      return false;
    });
    this.onChange(this.run, this.events);
    return true;
  }

  /** Stores a checkpoint with the curve up to its step (after that step's event has arrived, or 2 s). */
  async saveCheckpoint(checkpoint: Checkpoint): Promise<void> {
    await this.eventAt(checkpoint.step);
    this.checkpoint = checkpoint;
    this.setRun(await this.book.saveCheckpoint(this.run.id, checkpoint, this.events));
  }

  /** Records how the engine's run ended: finished or paused at `result.steps`. */
  async finish(result: Pick<SftResult, 'status' | 'steps'> & { truncated: number }): Promise<RunRecord> {
    await this.eventAt(result.steps);
    this.setRun(await this.book.update(this.run.id, { status: result.status, events: this.events, truncated: Math.max(result.truncated, this.run.truncated) }));
    this.stop();
    return this.run;
  }

  /** Records why the run stopped; the record keeps its last checkpoint, so it can resume from there. */
  async fail(message: string): Promise<RunRecord> {
    this.stop();
    const status: RunStatus = 'failed';
    this.setRun(await this.book.update(this.run.id, { status, error: message, events: this.events }).catch(() => ({ ...this.run, status, error: message })));
    return this.run;
  }

  /** After a lost GPU: the run goes on from its stored checkpoint, the curve cut there again. */
  async rewind(): Promise<void> {
    this.checkpoint = await this.book.checkpoint(this.run.id);
    this.run = await this.book.get(this.run.id);
    this.events = resumeEvents(this.run);
    this.onChange(this.run, this.events);
  }

  private setRun(run: RunRecord): void {
    this.run = run;
    this.onChange(run, this.events);
  }

  /** Releases anyone waiting for an event that will not come. */
  private stop(): void {
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters = [];
  }

  /** Resolves once the event of `step` has arrived (at once for step 0 or an event already here; 2 s at most). */
  private eventAt(step: number): Promise<void> {
    const last = this.events.at(-1)?.step ?? 0;
    if (step <= last) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 2000);
      this.waiters.push({ step, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}
