// The Train page: a model and data (a stored dataset with a prompt format, or a pre-tokenized JSONL file), a
// token-level preview, the hyperparameter form, and runs. A run's settings, data reference, curve and latest
// checkpoint live in IndexedDB (RunStore), so a run stopped by a reload or a lost GPU resumes from its last
// checkpoint with the same settings and data, and its curve continues.
import type { MemoryReport, PreviewToken, TrainRequest } from '../../engine/api';
import { sharedStudioDB } from '../../data/db';
import { resumeEvents, RunStore, type RunData, type RunRecord } from '../../data/runs';
import { splitIndices } from '../../data/split';
import { DatasetStore } from '../../data/store';
import type { DatasetMeta } from '../../data/types';
import { IGNORE_INDEX, parseTokenizedJsonl, type InstructionRow, type TrainExample } from '../../train/data';
import { exportPeftAdapter, type PeftFiles } from '../../train/peft';
import { plannedSteps, type Checkpoint, type TrainEvent } from '../../train/run';
import { useEngineState, type EngineState } from './engine.svelte';
import { adapterStateOf } from './train-adapter.svelte';
import { TrainForm } from './train-form.svelte';
import { messageOf } from '../lib/message';

export type DataSource = 'dataset' | 'file';
export type PromptFormat = 'alpaca' | 'chat';

/** The data of a run, ready for the engine. */
type RunInput = TrainRequest['data'];

/** A stored dataset or checkpoint is not what the run needs; the message says what to do. */
export class RunResumeError extends Error {
  override name = 'RunResumeError';
}

/** Rows a dataset can train on: an instruction and an output. */
function trainableRows(rows: readonly { instruction: string; input: string; output: string }[]): InstructionRow[] {
  return rows.filter((r) => r.instruction.trim() && r.output.trim()).map((r) => ({ instruction: r.instruction, input: r.input, output: r.output }));
}

/** Pre-tokenized rows cut to maxLen, with how many were cut. */
function cutExamples(examples: readonly TrainExample[], maxLen: number): { examples: TrainExample[]; truncated: number } {
  let truncated = 0;
  const cut = examples.map((e) => {
    if (e.inputIds.length <= maxLen) return e;
    truncated++;
    return { inputIds: e.inputIds.slice(0, maxLen), labels: e.labels.slice(0, maxLen) };
  });
  return { examples: cut, truncated };
}

/** The latest value of `key` among the events (they are in step order), or null. */
export function lastValue(events: readonly TrainEvent[], key: 'loss' | 'valLoss' | 'tokensPerSecond'): number | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const value = events[i][key];
    if (value !== undefined) return value;
  }
  return null;
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

/** GPU losses a run resumes from by itself before it fails. */
const MAX_GPU_LOSSES = 3;

export class TrainState {
  readonly form = new TrainForm(() => this.engine.model?.config.maxPositionEmbeddings ?? null);

  datasets = $state.raw<DatasetMeta[]>([]);
  source = $state<DataSource>('dataset');
  datasetId = $state<string | null>(null);
  chosenFormat = $state<PromptFormat>('alpaca');
  /** Trainable rows of the chosen dataset (instruction and output present). */
  datasetRows = $state.raw<InstructionRow[]>([]);
  fileName = $state<string | null>(null);
  fileExamples = $state.raw<TrainExample[]>([]);
  dataError = $state<string | null>(null);

  previewIndex = $state(0);
  preview = $state.raw<PreviewToken[]>([]);
  previewError = $state<string | null>(null);

  runs = $state.raw<RunRecord[]>([]);
  /** The run this page is training now. */
  activeId = $state<string | null>(null);
  /** The run whose curves and numbers are shown (the active one while training). */
  viewedId = $state<string | null>(null);
  /** Other runs overlaid on the loss chart. */
  compareIds = $state.raw<string[]>([]);
  /** Events of the active run, including those it resumed with. */
  liveEvents = $state.raw<TrainEvent[]>([]);
  pausing = $state(false);
  starting = $state(false);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  /** The GPU memory a run with the form's settings on the chosen data plans (null until planned), or why not. */
  memory = $state.raw<MemoryReport | null>(null);
  memoryError = $state<string | null>(null);
  /** When and at which step this page started or resumed the active run, and its latest event, for the ETA. */
  private clock = $state.raw<{ t0: number; step0: number; t: number; step: number } | null>(null);
  private store: Promise<{ runs: RunStore; datasets: DatasetStore }> | null = null;
  private eventWaiters: { step: number; resolve: () => void }[] = [];
  private previewSerial = 0;
  private memorySerial = 0;

  constructor(private readonly engine: EngineState) {}

  // --- derived -------------------------------------------------------------------------------------------

  /** Chat needs the model's chat template; pre-tokenized data needs no format. */
  format = $derived.by((): PromptFormat => (this.chosenFormat === 'chat' && this.engine.model?.hasChatTemplate ? 'chat' : 'alpaca'));
  canChat = $derived.by(() => this.engine.model?.hasChatTemplate ?? false);
  /** Instruction rows are tokenized by the engine, which needs the model's tokenizer. */
  needsTokenizer = $derived.by(() => this.source === 'dataset' && this.engine.model !== null && !this.engine.model.hasTokenizer);
  dataCount = $derived(this.source === 'dataset' ? this.datasetRows.length : this.fileExamples.length);
  active = $derived(this.runs.find((r) => r.id === this.activeId) ?? null);
  viewed = $derived(this.runs.find((r) => r.id === (this.activeId ?? this.viewedId)) ?? null);
  viewedEvents = $derived.by((): TrainEvent[] => (this.activeId !== null && this.viewed?.id === this.activeId ? this.liveEvents : (this.viewed?.events ?? [])));
  training = $derived(this.activeId !== null);
  engineReady = $derived.by(() => this.engine.model !== null && !this.engine.loading);
  canStart = $derived.by(() => this.engineReady && !this.training && !this.starting && this.form.valid && this.dataCount > 0 && !this.needsTokenizer && !this.overBudget);
  /** The planned run would not fit the GPU: Start stays off until the form asks for less. */
  overBudget = $derived(this.memory !== null && this.memory.totalBytes > this.memory.budgetBytes);
  /** Steps a new run with the form's settings would take, or null while the form or data is incomplete. */
  plannedSteps = $derived.by((): number | null => {
    if (!this.form.valid || this.dataCount === 0) return null;
    const settings = this.form.settings();
    const train = this.dataCount - splitIndices(this.dataCount, settings.valFraction, settings.seed).validation.length;
    return train > 0 ? plannedSteps(train, settings) : null;
  });
  /** Seconds left for the active run, from the pace since this page started or resumed it. */
  eta = $derived.by((): number | null => {
    const c = this.clock;
    const total = this.liveEvents.at(-1)?.totalSteps;
    if (!c || total === undefined || c.step <= c.step0) return null;
    return ((c.t - c.t0) / 1000 / (c.step - c.step0)) * (total - c.step);
  });

  // --- loading -------------------------------------------------------------------------------------------

  private stores(): Promise<{ runs: RunStore; datasets: DatasetStore }> {
    this.store ??= sharedStudioDB().then((db) => ({ runs: new RunStore(db), datasets: new DatasetStore(db) }));
    return this.store;
  }

  private initialized: Promise<void> | null = null;

  /** Reads datasets and runs once; runs stored as 'running' by a page that is gone are shown as interrupted. */
  init(): Promise<void> {
    this.initialized ??= this.load();
    return this.initialized;
  }

  private async load(): Promise<void> {
    try {
      const { runs, datasets } = await this.stores();
      this.runs = await runs.list();
      this.datasets = await datasets.list();
      this.viewedId ??= this.runs[0]?.id ?? null;
      if (this.datasetId === null && this.datasets.length) await this.chooseDataset(this.datasets[0].id);
    } catch (error) {
      this.error = messageOf(error);
    }
  }

  /** Lists datasets again (after imports on the Datasets page). */
  async refreshDatasets(): Promise<void> {
    const { datasets } = await this.stores();
    this.datasets = await datasets.list();
  }

  /** A run is interrupted when the database says running but this page is not training it. */
  isInterrupted(run: RunRecord): boolean {
    return run.status === 'running' && run.id !== this.activeId;
  }

  /** Whether a run can continue: not finished and not training now. */
  canResume(run: RunRecord): boolean {
    return run.status !== 'finished' && run.id !== this.activeId && !this.training;
  }

  async chooseDataset(id: string): Promise<void> {
    this.source = 'dataset';
    this.datasetId = id;
    this.dataError = null;
    this.previewIndex = 0;
    try {
      const { datasets } = await this.stores();
      const rows = trainableRows(await datasets.rows(id));
      if (this.datasetId !== id) return;
      this.datasetRows = rows;
      if (!rows.length) this.dataError = 'This dataset has no rows with both an instruction and an output: pick another, or answer it on the Teacher page first.';
    } catch (error) {
      this.datasetRows = [];
      this.dataError = messageOf(error);
    }
  }

  /** Reads a pre-tokenized JSONL file ({input_ids, labels} per line), checked against the loaded model's vocabulary. */
  async chooseFile(file: File): Promise<void> {
    this.source = 'file';
    this.dataError = null;
    this.previewIndex = 0;
    this.fileName = file.name;
    this.fileExamples = [];
    const model = this.engine.model;
    if (!model) {
      this.dataError = 'Load the model first: token ids are checked against its vocabulary.';
      return;
    }
    try {
      this.fileExamples = parseTokenizedJsonl(await file.text(), model.config.vocabSize);
    } catch (error) {
      this.dataError = `${file.name}: ${messageOf(error)}`;
    }
  }

  // --- preview -------------------------------------------------------------------------------------------

  /**
   * Tokens of the previewed row, coloured trained or masked. Dataset rows are tokenized by the engine with the
   * prompt format; pre-tokenized rows show their ids (decoded when the model has a tokenizer).
   */
  async updatePreview(): Promise<void> {
    // Every dependency is read before the first await, so an $effect calling this reruns when any changes.
    const serial = ++this.previewSerial;
    const model = this.engine.model;
    const index = this.previewIndex;
    const { trainOnInputs, maxLen } = this.form;
    const format = this.format;
    const row = this.source === 'dataset' ? this.datasetRows[index] : undefined;
    const example = this.source === 'file' ? this.fileExamples[index] : undefined;
    this.previewError = null;
    if (!model || (!row && !example)) {
      this.preview = [];
      return;
    }
    try {
      let tokens: PreviewToken[];
      if (row) {
        if (!model.hasTokenizer) throw new Error('This model has no tokenizer, so instruction rows cannot be tokenized: pick a pre-tokenized JSONL file instead.');
        tokens = await this.engine.engine.previewExample(row, format, trainOnInputs, maxLen);
      } else {
        const cut = cutExamples([example!], maxLen).examples[0];
        const texts = model.hasTokenizer ? await Promise.all(cut.inputIds.map((id) => this.engine.engine.decode([id]))) : cut.inputIds.map(String);
        tokens = cut.inputIds.map((_, t) => ({ text: texts[t], trained: cut.labels[t] !== IGNORE_INDEX }));
      }
      if (serial === this.previewSerial) this.preview = tokens;
    } catch (error) {
      if (serial !== this.previewSerial) return;
      this.preview = [];
      this.previewError = messageOf(error);
    }
  }

  // --- runs ----------------------------------------------------------------------------------------------

  /** Starts a new run with the form's settings on the chosen data. */
  async start(): Promise<void> {
    const model = this.engine.model;
    if (!this.canStart || !model) return;
    this.error = null;
    this.notice = null;
    this.starting = true;
    try {
      const { runs } = await this.stores();
      const settings = this.form.settings();
      const { maxLen, trainOnInputs } = this.form;
      const { data, input } = this.chosenData();
      const examples = 'examples' in input ? input.examples : undefined;
      const totalSteps = this.plannedSteps;
      if (totalSteps === null) throw new Error('The training split is empty: add rows or lower the validation fraction.');
      const name = `${data.name} · r ${settings.rank} · lr ${settings.lr}`;
      const model_ = { label: model.label, parameterCount: model.parameterCount, vocabSize: model.config.vocabSize };
      const run = await runs.create({ name, model: model_, data, settings, maxLen, trainOnInputs, totalSteps }, examples);
      this.runs = [run, ...this.runs];
      this.starting = false;
      await this.train(run, input, null);
    } catch (error) {
      this.error = messageOf(error);
    } finally {
      this.starting = false;
    }
  }

  /** The chosen data as a run records it and as the engine takes it. */
  private chosenData(): { data: RunData; input: RunInput } {
    if (this.source === 'dataset') {
      const meta = this.datasets.find((d) => d.id === this.datasetId);
      if (!meta) throw new Error('Pick a dataset first.');
      return {
        data: { kind: 'dataset', datasetId: meta.id, name: meta.name, format: this.format, rowCount: meta.rowCount, updatedAt: meta.updatedAt },
        input: { rows: this.datasetRows, format: this.format },
      };
    }
    const { examples } = cutExamples(this.fileExamples, this.form.maxLen);
    return { data: { kind: 'tokenized', name: this.fileName ?? 'rows.jsonl', rowCount: examples.length }, input: { examples } };
  }

  /** Plans the GPU memory of a run with the form's settings on the chosen data (shown before Start). */
  async planMemory(): Promise<void> {
    const serial = ++this.memorySerial;
    if (!this.engineReady || !this.form.valid || this.dataCount === 0 || this.needsTokenizer || this.training) {
      this.memory = null;
      this.memoryError = null;
      return;
    }
    try {
      const { input } = this.chosenData();
      const { maxLen, trainOnInputs } = this.form;
      const report = await this.engine.engine.planTraining({ data: input, settings: this.form.settings(), maxLen, trainOnInputs });
      if (serial !== this.memorySerial) return;
      this.memory = report;
      this.memoryError = null;
    } catch (error) {
      if (serial !== this.memorySerial) return;
      this.memory = null;
      this.memoryError = messageOf(error);
    }
  }

  /** Continues a run from its stored checkpoint (from step 0 without one) with its own settings and data. */
  async resume(id: string): Promise<void> {
    const model = this.engine.model;
    if (this.training || this.starting) return;
    this.error = null;
    this.notice = null;
    this.starting = true;
    try {
      const { runs, datasets } = await this.stores();
      const run = await runs.get(id);
      if (!model) throw new RunResumeError(`Load ${run.model.label} first: this run continues on the model it trained.`);
      if (model.label !== run.model.label || model.parameterCount !== run.model.parameterCount || model.config.vocabSize !== run.model.vocabSize) {
        throw new RunResumeError(`This run trained ${run.model.label}, but ${model.label} is loaded: load ${run.model.label} to resume it.`);
      }
      let input: RunInput;
      if (run.data.kind === 'dataset') {
        const meta = await datasets.get(run.data.datasetId).catch(() => null);
        if (!meta) throw new RunResumeError(`The dataset "${run.data.name}" this run trained on was deleted, so it cannot continue on the same data. Start a new run.`);
        if (meta.rowCount !== run.data.rowCount || meta.updatedAt !== run.data.updatedAt) {
          throw new RunResumeError(`The dataset "${run.data.name}" changed after this run started, so it cannot continue on the same data. Start a new run with its settings.`);
        }
        input = { rows: trainableRows(await datasets.rows(meta.id)), format: run.data.format };
      } else {
        input = { examples: await runs.examples(id) };
      }
      const checkpoint = await runs.checkpoint(id);
      const resumed = await runs.update(id, { status: 'running', error: null, events: resumeEvents(run) });
      this.replace(resumed);
      this.starting = false;
      await this.train(resumed, input, checkpoint);
    } catch (error) {
      this.error = messageOf(error);
    } finally {
      this.starting = false;
    }
  }

  async pause(): Promise<void> {
    if (!this.training || this.pausing) return;
    this.pausing = true;
    try {
      await this.engine.engine.pauseTraining();
    } catch (error) {
      this.pausing = false;
      this.error = messageOf(error);
    }
  }

  private async train(run: RunRecord, data: RunInput, checkpoint: Checkpoint | null): Promise<void> {
    const { runs } = await this.stores();
    const id = run.id;
    this.activeId = id;
    this.viewedId = id;
    this.liveEvents = run.events;
    const t0 = performance.now();
    const step0 = checkpoint?.step ?? 0;
    this.clock = { t0, step0, t: t0, step: step0 };
    this.pausing = false;
    try {
      const result = await this.trainOnEngine(run, data, checkpoint);
      await this.eventAt(result.steps);
      const updated = await runs.update(id, { status: result.status, events: this.liveEvents, truncated: result.truncated });
      this.replace(updated);
      adapterStateOf(this.engine).trained(updated);
      this.notice =
        result.status === 'finished'
          ? `Finished ${result.steps} steps${result.finalLoss === null ? '' : ` with loss ${result.finalLoss.toFixed(4)}`}. The adapter is applied in the Playground; export it from the run list.`
          : `Paused at step ${result.steps}; its adapter is applied in the Playground. Resume continues from this checkpoint.`;
    } catch (error) {
      const message = messageOf(error);
      this.error = message;
      this.replace(await runs.update(id, { status: 'failed', error: message, events: this.liveEvents }).catch(() => run));
    } finally {
      this.activeId = null;
      this.pausing = false;
      for (const waiter of this.eventWaiters) waiter.resolve();
      this.eventWaiters = [];
    }
  }

  /**
   * The engine's trainSft() for `run` from `checkpoint`. A GPU lost mid-run (the engine says from which checkpoint
   * it resumes) brings the model back on a new device and continues from the run's stored checkpoint.
   */
  private async trainOnEngine(run: RunRecord, data: RunInput, checkpoint: Checkpoint | null) {
    const { runs } = await this.stores();
    for (let losses = 0; ; losses++) {
      const request: TrainRequest = { data, settings: run.settings, maxLen: run.maxLen, trainOnInputs: run.trainOnInputs, resume: checkpoint ?? undefined };
      try {
        return await this.engine.engine.trainSft(
          request,
          (event) => this.onEvent(event),
          async (saved) => {
            // Events and checkpoints travel on separate message ports: wait for this step's event so the stored
            // curve reaches the checkpoint.
            await this.eventAt(saved.step);
            this.replace(await runs.saveCheckpoint(run.id, saved, this.liveEvents));
          },
        );
      } catch (error) {
        if ((error as Error).name !== 'GpuLostError' || losses >= MAX_GPU_LOSSES) throw error;
        this.notice = messageOf(error);
        await this.engine.engine.recover();
        checkpoint = await runs.checkpoint(run.id);
        this.liveEvents = resumeEvents(await runs.get(run.id));
        if (this.clock) this.clock = { t0: performance.now(), step0: checkpoint?.step ?? 0, t: performance.now(), step: checkpoint?.step ?? 0 };
      }
    }
  }

  private onEvent(event: TrainEvent): void {
    // An event of a step already shown (a resumed run repeats none, but be safe) replaces nothing.
    if (this.liveEvents.length && this.liveEvents[this.liveEvents.length - 1].step >= event.step) return;
    this.liveEvents = [...this.liveEvents, event];
    if (this.clock) this.clock = { ...this.clock, t: performance.now(), step: event.step };
    this.eventWaiters = this.eventWaiters.filter((w) => {
      if (w.step > event.step) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once the event of `step` has arrived (or at once for step 0 or an event already here; 2 s at most). */
  private eventAt(step: number): Promise<void> {
    const last = this.liveEvents.at(-1)?.step ?? 0;
    if (step <= last) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 2000);
      this.eventWaiters.push({ step, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  private replace(run: RunRecord): void {
    this.runs = this.runs.map((r) => (r.id === run.id ? run : r));
  }

  view(id: string): void {
    this.viewedId = id;
  }

  toggleCompare(id: string, on: boolean): void {
    this.compareIds = on ? [...new Set([...this.compareIds, id])] : this.compareIds.filter((x) => x !== id);
  }

  /** Loads a run's settings (and data choice, where it still exists) into the form. */
  useSettings(id: string): void {
    const run = this.runs.find((r) => r.id === id);
    if (!run) return;
    this.form.load(run.settings, run.maxLen, run.trainOnInputs);
    const data = run.data;
    if (data.kind === 'dataset' && this.datasets.some((d) => d.id === data.datasetId)) {
      this.chosenFormat = data.format;
      void this.chooseDataset(data.datasetId);
    }
    this.notice = `Loaded the settings of "${run.name}".`;
  }

  async remove(id: string): Promise<void> {
    if (id === this.activeId) return;
    try {
      const { runs } = await this.stores();
      await runs.remove(id);
      this.runs = this.runs.filter((r) => r.id !== id);
      this.compareIds = this.compareIds.filter((x) => x !== id);
      if (this.viewedId === id) this.viewedId = this.runs[0]?.id ?? null;
    } catch (error) {
      this.error = messageOf(error);
    }
  }

  /** The run's latest checkpoint as PEFT files (adapter_config.json, adapter_model.safetensors), self-tested. */
  async exportAdapter(id: string): Promise<PeftFiles | null> {
    this.error = null;
    try {
      const { runs } = await this.stores();
      const checkpoint = await runs.checkpoint(id);
      if (!checkpoint) throw new Error('This run has no checkpoint yet: train at least until its first checkpoint (or pause it) to export an adapter.');
      return exportPeftAdapter(checkpoint.adapter);
    } catch (error) {
      this.error = messageOf(error);
      return null;
    }
  }
}

const states = new WeakMap<EngineState, TrainState>();

/** The Train page's state, one per engine, kept while the user visits other pages (a run keeps training). */
export function useTrainState(): TrainState {
  const engine = useEngineState();
  let state = states.get(engine);
  if (!state) states.set(engine, (state = new TrainState(engine)));
  return state;
}
