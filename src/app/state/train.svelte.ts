// The Train page, in two modes: SFT (instruction rows) and reward model (preference pairs). Each has a model and
// data (a stored dataset with a prompt format, or a pre-tokenized JSONL file), a token-level preview, its own
// hyperparameter form, and runs. A run's kind, settings, data reference, curve and latest checkpoint live in
// IndexedDB (RunStore), so a run stopped by a reload or a lost GPU resumes from its last checkpoint with the same
// settings and data, and its curve continues. A reward model lands in the engine's reward slot, where the Rerank
// page reads it.
import { REWARD_SLOT, type MemoryReport, type PreviewToken, type RewardTrainRequest, type TrainRequest } from '../../engine/api';
import { sharedStudioDB } from '../../data/db';
import { rewardSettingsOf, resumeEvents, RunStore, runKind, type RunData, type RunKind, type RunRecord } from '../../data/runs';
import { splitIndices } from '../../data/split';
import { DatasetStore } from '../../data/store';
import type { DatasetMeta, Row } from '../../data/types';
import { IGNORE_INDEX, parseTokenizedJsonl, type InstructionRow, type TrainExample } from '../../train/data';
import { pairRows, parseTokenizedPairs, type PairExample, type PairRow } from '../../train/pairs';
import { exportPeftAdapter, type PeftFiles } from '../../train/peft';
import { plannedSteps, type Checkpoint, type TrainEvent } from '../../train/run';
import { useEngineState, type EngineState } from './engine.svelte';
import { adapterStateOf } from './train-adapter.svelte';
import { defaultRewardFormValues, rewardPresets, TrainForm } from './train-form.svelte';
import { messageOf } from '../lib/message';

export type DataSource = 'dataset' | 'file';
export type PromptFormat = 'alpaca' | 'chat';
/** What the page trains: an SFT adapter, or a reward model. */
export type TrainMode = RunKind;

/** The data of a run, ready for the engine, by kind. */
type RunInput = { kind: 'sft'; data: TrainRequest['data'] } | { kind: 'reward'; data: RewardTrainRequest['data'] };

/** One token of a pair's preview: `reward` marks the last token, where the reward is read. */
export interface PairPreviewToken extends PreviewToken {
  reward: boolean;
}

/** A stored dataset or checkpoint is not what the run needs; the message says what to do. */
export class RunResumeError extends Error {
  override name = 'RunResumeError';
}

/** Rows a dataset can train on: an instruction and an output. */
function trainableRows(rows: readonly { instruction: string; input: string; output: string }[]): InstructionRow[] {
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

function cutExample(e: TrainExample, maxLen: number): TrainExample {
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

export type EventValue = 'loss' | 'valLoss' | 'tokensPerSecond' | 'accuracy' | 'valAccuracy' | 'margin' | 'valMargin';

/** The latest value of `key` among the events (they are in step order), or null. */
export function lastValue(events: readonly TrainEvent[], key: EventValue): number | null {
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
  private readonly maxPositions = () => this.engine.model?.config.maxPositionEmbeddings ?? null;
  readonly sftForm = new TrainForm(this.maxPositions);
  readonly rewardForm = new TrainForm(this.maxPositions, defaultRewardFormValues, rewardPresets);

  /** SFT or reward model: picks the data, form and engine call of a new run. */
  mode = $state<TrainMode>('sft');
  datasets = $state.raw<DatasetMeta[]>([]);
  source = $state<DataSource>('dataset');
  datasetId = $state<string | null>(null);
  chosenFormat = $state<PromptFormat>('alpaca');
  /** The dataset whose rows below are read (null before the first read finishes). */
  private datasetRead = $state<string | null>(null);
  private datasetReadError = $state<string | null>(null);
  /** Trainable rows of the chosen dataset (instruction and output present). */
  datasetRows = $state.raw<InstructionRow[]>([]);
  /** Preference pairs of the chosen dataset, and how many of its rows yield none. */
  datasetPairs = $state.raw<PairRow[]>([]);
  pairlessRows = $state(0);
  /** The pre-tokenized file of each mode: SFT rows, or reward model pairs (cut at max length when a run starts). */
  fileName = $state<string | null>(null);
  fileExamples = $state.raw<TrainExample[]>([]);
  private fileError = $state<string | null>(null);
  pairFileName = $state<string | null>(null);
  filePairs = $state.raw<PairExample[]>([]);
  private pairFileError = $state<string | null>(null);

  previewIndex = $state(0);
  preview = $state.raw<PreviewToken[]>([]);
  /** Reward model mode: the previewed pair, each side with the token its reward is read at. */
  pairPreview = $state.raw<{ chosen: PairPreviewToken[]; rejected: PairPreviewToken[] } | null>(null);
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
  /** The run whose reward model this page last put in the engine's reward slot (emptied by a model load). */
  rewardSlot = $state.raw<{ runId: string; step: number } | null>(null);
  /** The GPU memory a run with the form's settings on the chosen data plans (null until planned), or why not. */
  memory = $state.raw<MemoryReport | null>(null);
  memoryError = $state<string | null>(null);
  /** When and at which step this page started or resumed the active run, and its latest event, for the ETA. */
  private clock = $state.raw<{ t0: number; step0: number; t: number; step: number } | null>(null);
  private store: Promise<{ runs: RunStore; datasets: DatasetStore }> | null = null;
  private eventWaiters: { step: number; resolve: () => void }[] = [];
  private previewSerial = 0;
  private memorySerial = 0;

  constructor(private readonly engine: EngineState) {
    // A model load empties the engine's adapter slots; recover() after a lost GPU brings them back.
    engine.engine.onModelChange(() => void this.refreshRewardSlot());
  }

  /**
   * Forgets which run is in the reward slot when the engine's slot is empty or holds an adapter of other settings
   * (one loaded on the Rerank page, say). Called after model changes and when the page is shown.
   */
  async refreshRewardSlot(): Promise<void> {
    const noted = this.rewardSlot;
    if (!noted) return;
    const forget = () => {
      if (this.rewardSlot === noted) this.rewardSlot = null;
    };
    try {
      if (!(await this.engine.engine.modelInfo())) return forget();
      const slot = (await this.engine.engine.adapterSlots()).find((s) => s.slot === REWARD_SLOT);
      const settings = this.runs.find((r) => r.id === noted.runId)?.settings;
      const same = slot && settings && slot.rank === settings.rank && slot.alpha === settings.alpha && slot.targets.join() === settings.targets.join();
      if (!same) forget();
    } catch {
      forget();
    }
  }

  // --- derived -------------------------------------------------------------------------------------------

  /** The form of the current mode (each mode keeps its own values). */
  form = $derived(this.mode === 'reward' ? this.rewardForm : this.sftForm);
  /** Chat needs the model's chat template; pre-tokenized data needs no format. */
  format = $derived.by((): PromptFormat => (this.chosenFormat === 'chat' && this.engine.model?.hasChatTemplate ? 'chat' : 'alpaca'));
  canChat = $derived.by(() => this.engine.model?.hasChatTemplate ?? false);
  /** Instruction rows are tokenized by the engine, which needs the model's tokenizer. */
  needsTokenizer = $derived.by(() => this.source === 'dataset' && this.engine.model !== null && !this.engine.model.hasTokenizer);
  /** Rows (SFT) or pairs (reward model) to train on. */
  dataCount = $derived.by(() => {
    if (this.mode === 'reward') return this.source === 'dataset' ? this.datasetPairs.length : this.filePairs.length;
    return this.source === 'dataset' ? this.datasetRows.length : this.fileExamples.length;
  });
  /** The name of the chosen pre-tokenized file of this mode. */
  chosenFileName = $derived(this.mode === 'reward' ? this.pairFileName : this.fileName);
  /** Why the chosen data cannot train, or null. */
  dataError = $derived.by((): string | null => {
    if (this.source === 'file') return this.mode === 'reward' ? this.pairFileError : this.fileError;
    if (this.datasetReadError) return this.datasetReadError;
    if (this.datasetId === null || this.datasetRead !== this.datasetId) return null;
    if (this.mode === 'reward' && !this.datasetPairs.length) {
      return 'This dataset has no preference pairs: pick one with chosen/rejected rows or scored responses (comparison data), e.g. from a feedback job on the Teacher page.';
    }
    if (this.mode === 'sft' && !this.datasetRows.length) {
      return 'This dataset has no rows with both an instruction and an output: pick another, or answer it on the Teacher page first.';
    }
    return null;
  });
  /** Pre-tokenized pairs longer than the form's max length (each side is cut there when the run starts). */
  pairsOverMaxLen = $derived.by(() => (this.mode === 'reward' && this.source === 'file' ? cutPairs(this.filePairs, this.form.maxLen).truncated : 0));
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

  /** Switches between SFT and reward model training (not while a run trains). */
  setMode(mode: TrainMode): void {
    if (this.training || mode === this.mode) return;
    this.mode = mode;
    this.previewIndex = 0;
    this.memory = null;
    this.memoryError = null;
  }

  /** Reads a dataset's rows once for both modes: its instruction rows and the preference pairs they yield. */
  async chooseDataset(id: string): Promise<void> {
    this.source = 'dataset';
    this.datasetId = id;
    this.datasetReadError = null;
    this.previewIndex = 0;
    try {
      const { datasets } = await this.stores();
      const rows = await datasets.rows(id);
      if (this.datasetId !== id) return;
      const { pairs, pairless } = pairsOfRows(rows);
      this.datasetRows = trainableRows(rows);
      this.datasetPairs = pairs;
      this.pairlessRows = pairless;
      this.datasetRead = id;
    } catch (error) {
      if (this.datasetId !== id) return;
      this.datasetRows = [];
      this.datasetPairs = [];
      this.pairlessRows = 0;
      this.datasetReadError = messageOf(error);
    }
  }

  /**
   * Reads a pre-tokenized JSONL file, checked against the loaded model's vocabulary: {input_ids, labels} rows in
   * SFT mode, {chosen_ids, rejected_ids} pairs in reward model mode.
   */
  async chooseFile(file: File): Promise<void> {
    const mode = this.mode;
    this.source = 'file';
    this.previewIndex = 0;
    const set = (examples: TrainExample[] | PairExample[], error: string | null) => {
      if (mode === 'reward') {
        this.pairFileName = file.name;
        this.filePairs = examples as PairExample[];
        this.pairFileError = error;
      } else {
        this.fileName = file.name;
        this.fileExamples = examples as TrainExample[];
        this.fileError = error;
      }
    };
    set([], null);
    const model = this.engine.model;
    if (!model) {
      set([], 'Load the model first: token ids are checked against its vocabulary.');
      return;
    }
    try {
      const text = await file.text();
      set(mode === 'reward' ? parseTokenizedPairs(text, model.config.vocabSize) : parseTokenizedJsonl(text, model.config.vocabSize), null);
    } catch (error) {
      set([], `${file.name}: ${messageOf(error)}`);
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
    const reward = this.mode === 'reward';
    const dataset = this.source === 'dataset';
    const row = !reward && dataset ? this.datasetRows[index] : undefined;
    const example = !reward && !dataset ? this.fileExamples[index] : undefined;
    const pairRow = reward && dataset ? this.datasetPairs[index] : undefined;
    const pair = reward && !dataset ? this.filePairs[index] : undefined;
    this.previewError = null;
    if (!model || (!row && !example && !pairRow && !pair)) {
      this.preview = [];
      this.pairPreview = null;
      return;
    }
    const noTokenizer = `This model has no tokenizer, so ${reward ? 'text pairs' : 'instruction rows'} cannot be tokenized: pick a pre-tokenized JSONL file instead.`;
    const tokensOf = async (ids: TrainExample): Promise<PreviewToken[]> => {
      const cut = cutExample(ids, maxLen);
      const texts = model.hasTokenizer ? await Promise.all(cut.inputIds.map((id) => this.engine.engine.decode([id]))) : cut.inputIds.map(String);
      return cut.inputIds.map((_, t) => ({ text: texts[t], trained: cut.labels[t] !== IGNORE_INDEX }));
    };
    // A pair's side is shown as an SFT row with the response marked; its reward is read at its last token.
    const withReward = (tokens: PreviewToken[]): PairPreviewToken[] => tokens.map((t, i) => ({ ...t, reward: i === tokens.length - 1 }));
    try {
      if (reward) {
        let sides: [PreviewToken[], PreviewToken[]];
        if (pairRow) {
          if (!model.hasTokenizer) throw new Error(noTokenizer);
          const side = (output: string) => this.engine.engine.previewExample({ instruction: pairRow.instruction, input: pairRow.input ?? '', output }, format, false, maxLen);
          sides = await Promise.all([side(pairRow.chosen), side(pairRow.rejected)]);
        } else {
          sides = await Promise.all([tokensOf(pair!.chosen), tokensOf(pair!.rejected)]);
        }
        if (serial !== this.previewSerial) return;
        this.preview = [];
        this.pairPreview = { chosen: withReward(sides[0]), rejected: withReward(sides[1]) };
        return;
      }
      let tokens: PreviewToken[];
      if (row) {
        if (!model.hasTokenizer) throw new Error(noTokenizer);
        tokens = await this.engine.engine.previewExample(row, format, trainOnInputs, maxLen);
      } else {
        tokens = await tokensOf(example!);
      }
      if (serial !== this.previewSerial) return;
      this.preview = tokens;
      this.pairPreview = null;
    } catch (error) {
      if (serial !== this.previewSerial) return;
      this.preview = [];
      this.pairPreview = null;
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
      const kind = this.mode;
      const form = this.form;
      const settings = kind === 'reward' ? form.rewardSettings() : form.settings();
      const { maxLen } = form;
      const trainOnInputs = kind === 'sft' && form.trainOnInputs;
      const { data, input, truncated } = this.chosenData();
      const rows = 'examples' in input.data ? input.data.examples : 'pairs' in input.data ? input.data.pairs : undefined;
      const totalSteps = this.plannedSteps;
      if (totalSteps === null) throw new Error('The training split is empty: add rows or lower the validation fraction.');
      const name = `${kind === 'reward' ? 'RM · ' : ''}${data.name} · r ${settings.rank} · lr ${settings.lr}`;
      const model_ = { label: model.label, parameterCount: model.parameterCount, vocabSize: model.config.vocabSize };
      const run = await runs.create({ kind, name, model: model_, data, settings, maxLen, trainOnInputs, totalSteps }, rows, truncated);
      this.runs = [run, ...this.runs];
      this.starting = false;
      await this.train(run, input, null);
    } catch (error) {
      this.error = messageOf(error);
    } finally {
      this.starting = false;
    }
  }

  /** The chosen data of the current mode as a run records it and as the engine takes it; `truncated` counts pre-tokenized rows cut here. */
  private chosenData(): { data: RunData; input: RunInput; truncated: number } {
    if (this.source === 'dataset') {
      const meta = this.datasets.find((d) => d.id === this.datasetId);
      if (!meta) throw new Error('Pick a dataset first.');
      const format = this.format;
      return {
        data: { kind: 'dataset', datasetId: meta.id, name: meta.name, format, rowCount: meta.rowCount, updatedAt: meta.updatedAt },
        input: this.mode === 'reward' ? { kind: 'reward', data: { rows: this.datasetPairs, format } } : { kind: 'sft', data: { rows: this.datasetRows, format } },
        truncated: 0,
      };
    }
    if (this.mode === 'reward') {
      const { pairs, truncated } = cutPairs(this.filePairs, this.form.maxLen);
      return { data: { kind: 'tokenized', name: this.pairFileName ?? 'pairs.jsonl', rowCount: pairs.length }, input: { kind: 'reward', data: { pairs } }, truncated };
    }
    const { examples, truncated } = cutExamples(this.fileExamples, this.form.maxLen);
    return { data: { kind: 'tokenized', name: this.fileName ?? 'rows.jsonl', rowCount: examples.length }, input: { kind: 'sft', data: { examples } }, truncated };
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
      const report =
        input.kind === 'reward'
          ? await this.engine.engine.planRewardTraining({ data: input.data, settings: this.form.rewardSettings(), maxLen })
          : await this.engine.engine.planTraining({ data: input.data, settings: this.form.settings(), maxLen, trainOnInputs });
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
    if (this.training || this.starting) return;
    this.error = null;
    this.notice = null;
    this.starting = true;
    try {
      const { runs, datasets } = await this.stores();
      const run = await runs.get(id);
      this.checkModel(run, 'resume it');
      const reward = runKind(run) === 'reward';
      let input: RunInput;
      if (run.data.kind === 'dataset') {
        const meta = await datasets.get(run.data.datasetId).catch(() => null);
        if (!meta) throw new RunResumeError(`The dataset "${run.data.name}" this run trained on was deleted, so it cannot continue on the same data. Start a new run.`);
        if (meta.rowCount !== run.data.rowCount || meta.updatedAt !== run.data.updatedAt) {
          throw new RunResumeError(`The dataset "${run.data.name}" changed after this run started, so it cannot continue on the same data. Start a new run with its settings.`);
        }
        const rows = await datasets.rows(meta.id);
        const format = run.data.format;
        input = reward ? { kind: 'reward', data: { rows: pairsOfRows(rows).pairs, format } } : { kind: 'sft', data: { rows: trainableRows(rows), format } };
      } else {
        input = reward ? { kind: 'reward', data: { pairs: await runs.pairs(id) } } : { kind: 'sft', data: { examples: await runs.examples(id) } };
      }
      const checkpoint = await runs.checkpoint(id);
      // The page shows the mode of the run it trains (the mode switch is locked while it does).
      this.setMode(runKind(run));
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

  /** Refuses a run of another model than the loaded one; `what` ends the message ("resume it"). */
  private checkModel(run: RunRecord, what: string): void {
    const model = this.engine.model;
    if (!model) throw new RunResumeError(`Load ${run.model.label} first: this run continues on the model it trained.`);
    if (model.label !== run.model.label || model.parameterCount !== run.model.parameterCount || model.config.vocabSize !== run.model.vocabSize) {
      throw new RunResumeError(`This run trained ${run.model.label}, but ${model.label} is loaded: load ${run.model.label} to ${what}.`);
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
      const updated = await runs.update(id, { status: result.status, events: this.liveEvents, truncated: Math.max(result.truncated, run.truncated) });
      this.replace(updated);
      const loss = result.finalLoss === null ? '' : ` with loss ${result.finalLoss.toFixed(4)}`;
      if (data.kind === 'reward') {
        // The engine put the reward model in its reward slot.
        this.rewardSlot = { runId: id, step: result.steps };
        const accuracy = lastValue(this.liveEvents, 'valAccuracy');
        const scored = accuracy === null ? '' : `, validation pairwise accuracy ${(accuracy * 100).toFixed(1)}%`;
        this.notice =
          result.status === 'finished'
            ? `Finished ${result.steps} steps${loss}${scored}. The reward model is in the reward slot for the Rerank page; export it (PEFT, SEQ_CLS) from the run list.`
            : `Paused at step ${result.steps}; its reward model is in the reward slot. Resume continues from this checkpoint.`;
      } else {
        adapterStateOf(this.engine).trained(updated);
        this.notice =
          result.status === 'finished'
            ? `Finished ${result.steps} steps${loss}. The adapter is applied in the Playground; export it from the run list.`
            : `Paused at step ${result.steps}; its adapter is applied in the Playground. Resume continues from this checkpoint.`;
      }
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
   * The engine's trainSft() or trainReward() for `run` from `checkpoint`. A GPU lost mid-run (the engine says from
   * which checkpoint it resumes) brings the model back on a new device and continues from the run's stored checkpoint.
   */
  private async trainOnEngine(run: RunRecord, input: RunInput, checkpoint: Checkpoint | null) {
    const { runs } = await this.stores();
    const onEvent = (event: TrainEvent) => this.onEvent(event);
    const onCheckpoint = async (saved: Checkpoint) => {
      // Events and checkpoints travel on separate message ports: wait for this step's event so the stored
      // curve reaches the checkpoint.
      await this.eventAt(saved.step);
      this.replace(await runs.saveCheckpoint(run.id, saved, this.liveEvents));
    };
    for (let losses = 0; ; losses++) {
      const resume = checkpoint ?? undefined;
      try {
        if (input.kind === 'reward') {
          const request: RewardTrainRequest = { data: input.data, settings: rewardSettingsOf(run), maxLen: run.maxLen, resume, slot: REWARD_SLOT };
          return await this.engine.engine.trainReward(request, onEvent, onCheckpoint);
        }
        const request: TrainRequest = { data: input.data, settings: run.settings, maxLen: run.maxLen, trainOnInputs: run.trainOnInputs, resume };
        return await this.engine.engine.trainSft(request, onEvent, onCheckpoint);
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

  /** Switches to the run's mode and loads its settings (and data choice, where it still exists) into that form. */
  useSettings(id: string): void {
    const run = this.runs.find((r) => r.id === id);
    if (!run || this.training) return;
    this.setMode(runKind(run));
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
      // The engine's reward slot keeps the model; only this page's note of where it came from goes.
      if (this.rewardSlot?.runId === id) this.rewardSlot = null;
      if (this.viewedId === id) this.viewedId = this.runs[0]?.id ?? null;
    } catch (error) {
      this.error = messageOf(error);
    }
  }

  /**
   * Puts a reward model run's latest checkpoint (adapter and score head) in the engine's reward slot, where the
   * Rerank page scores with it.
   */
  async useAsRewardModel(id: string): Promise<void> {
    if (this.training) return;
    this.error = null;
    this.notice = null;
    try {
      const { runs } = await this.stores();
      const run = await runs.get(id);
      if (runKind(run) !== 'reward') throw new Error(`"${run.name}" is an SFT run: only a reward model run can go in the reward slot.`);
      this.checkModel(run, 'score with it');
      const checkpoint = await runs.checkpoint(id);
      if (!checkpoint) throw new Error(`"${run.name}" has no checkpoint yet: train it until its first checkpoint (or pause it) first.`);
      if (!checkpoint.adapter.score) throw new Error(`The checkpoint of "${run.name}" has no score head, so it is not a reward model: train a new reward model run.`);
      await this.engine.engine.setAdapter(REWARD_SLOT, checkpoint.adapter);
      this.rewardSlot = { runId: id, step: checkpoint.step };
      this.notice = `"${run.name}" at step ${checkpoint.step} is the reward model now: the Rerank page scores with it.`;
    } catch (error) {
      this.error = messageOf(error);
    }
  }

  /** The run's latest checkpoint as PEFT files (adapter_config.json, adapter_model.safetensors), self-tested; a reward model's are SEQ_CLS. */
  async exportAdapter(id: string): Promise<PeftFiles | null> {
    this.error = null;
    try {
      const { runs } = await this.stores();
      const run = await runs.get(id);
      const checkpoint = await runs.checkpoint(id);
      if (!checkpoint) throw new Error('This run has no checkpoint yet: train at least until its first checkpoint (or pause it) to export an adapter.');
      // PEFT key names follow the base model's architecture: the loaded model's when it is the run's (Llama's otherwise).
      const model = this.engine.model;
      const architecture = model?.label === run.model.label && model.parameterCount === run.model.parameterCount ? model.config.architecture : undefined;
      return exportPeftAdapter(checkpoint.adapter, architecture);
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
