// The Train page, in three modes: SFT (instruction rows), reward model and DPO (both on preference pairs). Each
// has a model and data (a stored dataset with a prompt format, or a pre-tokenized JSONL file), a token-level
// preview, its own hyperparameter form, and runs; a DPO run may start from an SFT run's adapter. The run lifecycle
// is RunSession's (src/train/session.ts, shared with the CLI), the engine calls TrainRuns'; this is the page's
// state around them, including a run that continues by itself after a reload.
import type { DpoTrainRequest, MemoryReport, PreviewToken, RewardTrainRequest } from '../../engine/api';
import { runKind, trainsOnPairs, type RunData, type RunKind, type RunRecord, type RunStart } from '../../data/runs';
import type { DatasetMeta } from '../../data/types';
import type { LoraAdapter } from '../../model/lora';
import { IGNORE_INDEX, parseTokenizedJsonl, type InstructionRow, type TrainExample } from '../../train/data';
import { parseTokenizedPairs, type PairExample, type PairRow } from '../../train/pairs';
import { useEngineState, type EngineState } from './engine.svelte';
import { RunResumeError, RunSession, checkDataset, runTotalSteps, sameModel } from '../../train/session';
import { cutExample, cutExamples, cutPairs, pairsOfRows, trainableRows } from './train-data';
import { defaultDpoFormValues, defaultRewardFormValues, dpoPresets, rewardPresets, TrainForm } from './train-form.svelte';
import { TrainRuns, trainedElsewhere, type RunInput } from './train-runs.svelte';
import { messageOf } from '../lib/message';
import { useServices, type Services } from '../services';

export type DataSource = 'dataset' | 'file';
export type PromptFormat = 'alpaca' | 'chat';
/** What the page trains: an SFT adapter, a reward model, or a DPO policy adapter. */
export type TrainMode = RunKind;

/** One token of a pair's preview: `reward` marks the last token, where a reward model reads its reward. */
export interface PairPreviewToken extends PreviewToken {
  reward: boolean;
}

/** The SFT adapter a DPO run starts from: an SFT run's latest checkpoint. */
export interface DpoStart extends RunStart {
  adapter: LoraAdapter;
}

export class TrainState extends TrainRuns {
  private readonly maxPositions = () => this.engine.model?.config.maxPositionEmbeddings ?? null;
  readonly sftForm = new TrainForm(this.maxPositions);
  readonly rewardForm = new TrainForm(this.maxPositions, defaultRewardFormValues, rewardPresets);
  readonly dpoForm = new TrainForm(this.maxPositions, defaultDpoFormValues, dpoPresets);

  /** SFT, reward model or DPO: picks the data, form and engine call of a new run. */
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
  /** The pre-tokenized files: SFT rows, and pairs for the reward model and DPO (cut at max length when a run starts). */
  fileName = $state<string | null>(null);
  fileExamples = $state.raw<TrainExample[]>([]);
  private fileError = $state<string | null>(null);
  pairFileName = $state<string | null>(null);
  filePairs = $state.raw<PairExample[]>([]);
  private pairFileError = $state<string | null>(null);
  /** DPO: the SFT adapter the next run starts from (null: the base model), and why the picked one cannot be used. */
  dpoStart = $state.raw<DpoStart | null>(null);
  dpoStartError = $state<string | null>(null);

  previewIndex = $state(0);
  preview = $state.raw<PreviewToken[]>([]);
  /** Reward model and DPO modes: the previewed pair, each side with the token a reward model reads marked. */
  pairPreview = $state.raw<{ chosen: PairPreviewToken[]; rejected: PairPreviewToken[] } | null>(null);
  previewError = $state<string | null>(null);

  /** The GPU memory a run with the form's settings on the chosen data plans (null until planned), or why not. */
  memory = $state.raw<MemoryReport | null>(null);
  memoryError = $state<string | null>(null);
  private previewSerial = 0;
  private memorySerial = 0;

  constructor(engine: EngineState, services: Services) {
    super(engine, services);
  }

  // --- derived -------------------------------------------------------------------------------------------

  /** The form of the current mode (each mode keeps its own values). */
  form = $derived(this.mode === 'reward' ? this.rewardForm : this.mode === 'dpo' ? this.dpoForm : this.sftForm);
  /** Whether the current mode trains on preference pairs (reward model, DPO) rather than instruction rows. */
  pairs = $derived(trainsOnPairs(this.mode));
  /** Chat needs the model's chat template; pre-tokenized data needs no format. */
  format = $derived.by((): PromptFormat => (this.chosenFormat === 'chat' && this.engine.model?.hasChatTemplate ? 'chat' : 'alpaca'));
  canChat = $derived.by(() => this.engine.model?.hasChatTemplate ?? false);
  /** Instruction rows are tokenized by the engine, which needs the model's tokenizer. */
  needsTokenizer = $derived.by(() => this.source === 'dataset' && this.engine.model !== null && !this.engine.model.hasTokenizer);
  /** Rows (SFT) or pairs (reward model, DPO) to train on. */
  dataCount = $derived.by(() => {
    if (this.pairs) return this.source === 'dataset' ? this.datasetPairs.length : this.filePairs.length;
    return this.source === 'dataset' ? this.datasetRows.length : this.fileExamples.length;
  });
  /** The name of the chosen pre-tokenized file of this mode. */
  chosenFileName = $derived(this.pairs ? this.pairFileName : this.fileName);
  /** Why the chosen data cannot train, or null. */
  dataError = $derived.by((): string | null => {
    if (this.source === 'file') return this.pairs ? this.pairFileError : this.fileError;
    if (this.datasetReadError) return this.datasetReadError;
    if (this.datasetId === null || this.datasetRead !== this.datasetId) return null;
    if (this.pairs && !this.datasetPairs.length) {
      return 'This dataset has no preference pairs: pick one with chosen/rejected rows or scored responses (comparison data), e.g. from a feedback job on the Teacher page.';
    }
    if (!this.pairs && !this.datasetRows.length) {
      return 'This dataset has no rows with both an instruction and an output: pick another, or answer it on the Teacher page first.';
    }
    return null;
  });
  /** Pre-tokenized pairs longer than the form's max length (each side is cut there when the run starts). */
  pairsOverMaxLen = $derived.by(() => (this.pairs && this.source === 'file' ? cutPairs(this.filePairs, this.form.maxLen).truncated : 0));
  /** SFT runs with a checkpoint on the loaded model: the adapters a DPO run can start from. */
  startCandidates = $derived.by(() => {
    const model = this.engine.model;
    return this.runs.filter((r) => runKind(r) === 'sft' && r.checkpointStep !== null && r.model.label === model?.label && r.model.parameterCount === model?.parameterCount);
  });
  engineReady = $derived.by(() => this.engine.model !== null && !this.engine.loading);
  canStart = $derived.by(() => this.engineReady && !this.training && !this.starting && this.form.valid && this.dataCount > 0 && !this.needsTokenizer && !this.overBudget);
  /** The planned run would not fit the GPU: Start stays off until the form asks for less. */
  overBudget = $derived(this.memory !== null && this.memory.totalBytes > this.memory.budgetBytes);
  /** Steps a new run with the form's settings would take, or null while the form or data is incomplete. */
  plannedSteps = $derived.by((): number | null => {
    if (!this.form.valid || this.dataCount === 0) return null;
    return runTotalSteps(this.dataCount, this.form.settings()) || null;
  });

  // --- loading -------------------------------------------------------------------------------------------

  private initialized: Promise<void> | null = null;

  /**
   * Reads datasets and runs once. A run stored as 'running' by a page that is gone (a reload, a closed tab)
   * continues by itself: its model loads again, its form and data come back, and it resumes from its checkpoint.
   */
  init(): Promise<void> {
    this.initialized ??= this.load();
    return this.initialized;
  }

  private async load(): Promise<void> {
    let interrupted: RunRecord | undefined;
    try {
      const { runs, datasets } = await this.stores();
      this.runs = await runs.list();
      this.datasets = await datasets.list();
      this.viewedId ??= this.runs[0]?.id ?? null;
      interrupted = this.runs.find((r) => this.isInterrupted(r));
      if (!interrupted && this.datasetId === null && this.datasets.length) await this.chooseDataset(this.datasets[0].id);
    } catch (error) {
      this.error = messageOf(error);
    }
    if (interrupted) await this.continueInterrupted(interrupted);
  }

  /** Continues a run the last page left mid-run, unless another tab trains it; says what to do when it cannot. */
  private async continueInterrupted(run: RunRecord): Promise<void> {
    if (await trainedElsewhere(run.id)) return;
    this.viewedId = run.id;
    await this.engine.init();
    const from = run.model.from;
    if (!this.engine.model && from) {
      this.notice = `Loading ${from.kind === 'hub' ? from.id : from.name} to continue "${run.name}"…`;
      await this.engine.loadRef(from);
    }
    const model = this.loadedModel();
    await this.restoreChoices(run);
    if (!model || !sameModel(model, run.model)) {
      this.notice = `"${run.name}" stopped at step ${run.checkpointStep ?? 0} when the page was left: load ${run.model.label} to resume it.`;
      return;
    }
    this.notice = null;
    await this.resume(run.id);
  }

  /** Lists datasets again (after imports on the Datasets page). */
  async refreshDatasets(): Promise<void> {
    const { datasets } = await this.stores();
    this.datasets = await datasets.list();
  }

  /** Switches between SFT, reward model and DPO training (not while a run trains). */
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
   * SFT mode, {chosen_ids, rejected_ids} pairs in reward model and DPO modes.
   */
  async chooseFile(file: File): Promise<void> {
    const pairs = this.pairs;
    this.source = 'file';
    this.previewIndex = 0;
    const set = (examples: TrainExample[] | PairExample[], error: string | null) => {
      if (pairs) {
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
      set(pairs ? parseTokenizedPairs(text, model.config.vocabSize) : parseTokenizedJsonl(text, model.config.vocabSize), null);
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
    const reward = this.pairs;
    const readsReward = this.mode === 'reward';
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
    // A pair's side is shown as an SFT row with the response marked (DPO sums its log-probs); a reward model reads
    // its reward at the last token.
    const withReward = (tokens: PreviewToken[]): PairPreviewToken[] => tokens.map((t, i) => ({ ...t, reward: readsReward && i === tokens.length - 1 }));
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
      const settings = kind === 'reward' ? form.rewardSettings() : kind === 'dpo' ? form.dpoSettings() : form.settings();
      const { maxLen } = form;
      const trainOnInputs = kind === 'sft' && form.trainOnInputs;
      const { data, input, truncated } = this.chosenData();
      const rows = 'examples' in input.data ? input.data.examples : 'pairs' in input.data ? input.data.pairs : undefined;
      const totalSteps = this.plannedSteps;
      if (totalSteps === null) throw new Error('The training split is empty: add rows or lower the validation fraction.');
      const prefix = kind === 'reward' ? 'RM · ' : kind === 'dpo' ? 'DPO · ' : '';
      const name = `${prefix}${data.name} · r ${settings.rank} · lr ${settings.lr}${kind === 'dpo' ? ` · β ${form.beta}` : ''}`;
      const from = this.engine.loadedFrom;
      const model_ = { label: model.label, parameterCount: model.parameterCount, vocabSize: model.config.vocabSize, ...(from && { from }) };
      const picked = kind === 'dpo' ? this.dpoStart : null;
      const pickedRun = picked && this.runs.find((r) => r.id === picked.runId);
      if (picked && !pickedRun) throw new Error(`The SFT run "${picked.name}" to start from was deleted: pick another or the base model.`);
      if (pickedRun) this.checkModel(pickedRun, 'start from it');
      const start = picked ? { runId: picked.runId, name: picked.name, step: picked.step } : undefined;
      const session = await RunSession.start(runs, { kind, name, model: model_, data, settings, maxLen, trainOnInputs, totalSteps, ...(start && { start }) }, rows, truncated, this.follow);
      this.runs = [session.run, ...this.runs];
      this.starting = false;
      await this.train(session, input);
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
        input: this.pairs ? this.pairInput({ rows: this.datasetPairs, format }) : { kind: 'sft', data: { rows: this.datasetRows, format } },
        truncated: 0,
      };
    }
    if (this.pairs) {
      const { pairs, truncated } = cutPairs(this.filePairs, this.form.maxLen);
      return { data: { kind: 'tokenized', name: this.pairFileName ?? 'pairs.jsonl', rowCount: pairs.length }, input: this.pairInput({ pairs }), truncated };
    }
    const { examples, truncated } = cutExamples(this.fileExamples, this.form.maxLen);
    return { data: { kind: 'tokenized', name: this.fileName ?? 'rows.jsonl', rowCount: examples.length }, input: { kind: 'sft', data: { examples } }, truncated };
  }

  /** Pairs as the current mode's engine call takes them: a DPO run's with the SFT adapter it starts from. */
  private pairInput(data: RewardTrainRequest['data']): RunInput {
    return this.mode === 'dpo' ? { kind: 'dpo', data, start: this.dpoStart?.adapter } : { kind: 'reward', data };
  }

  /**
   * DPO: starts the next run from an SFT run's latest checkpoint (null: from the base model). The adapter fixes
   * the form's rank, alpha and targets, since the policy is a copy of it.
   */
  async chooseStart(runId: string | null): Promise<void> {
    if (this.training) return;
    this.dpoStartError = null;
    if (runId === null) {
      this.dpoStart = null;
      return;
    }
    try {
      const { runs } = await this.stores();
      const run = await runs.get(runId);
      this.checkModel(run, 'start from it');
      const checkpoint = await runs.checkpoint(runId);
      if (!checkpoint) throw new Error(`"${run.name}" has no checkpoint yet: train it until its first checkpoint first.`);
      const { adapter } = checkpoint;
      this.dpoStart = { runId, name: run.name, step: checkpoint.step, adapter };
      this.dpoForm.apply({ rank: adapter.rank, alpha: adapter.alpha, targets: adapter.targets as DpoTrainRequest['settings']['targets'] });
    } catch (error) {
      this.dpoStart = null;
      this.dpoStartError = messageOf(error);
    }
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
          : input.kind === 'dpo'
            ? await this.engine.engine.planDpoTraining({ data: input.data, settings: this.form.dpoSettings(), maxLen, start: input.start })
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
      const kind = runKind(run);
      const pairs = trainsOnPairs(kind);
      const hasCheckpoint = run.checkpointStep !== null;
      const start = kind === 'dpo' && !hasCheckpoint ? await this.startAdapter(run) : undefined;
      const pairInput = (data: RewardTrainRequest['data']): RunInput => (kind === 'dpo' ? { kind, data, start } : { kind: 'reward', data });
      let input: RunInput;
      if (run.data.kind === 'dataset') {
        const meta = await datasets.get(run.data.datasetId).catch(() => null);
        checkDataset(run, meta);
        const rows = await datasets.rows(run.data.datasetId);
        const format = run.data.format;
        input = pairs ? pairInput({ rows: pairsOfRows(rows).pairs, format }) : { kind: 'sft', data: { rows: trainableRows(rows), format } };
      } else {
        input = pairs ? pairInput({ pairs: await runs.pairs(id) }) : { kind: 'sft', data: { examples: await runs.examples(id) } };
      }
      // The page shows the mode of the run it trains (the mode switch is locked while it does).
      this.setMode(kind);
      const session = await RunSession.resume(runs, id, this.loadedModel(), this.follow);
      this.starting = false;
      await this.train(session, input);
    } catch (error) {
      this.error = messageOf(error);
    } finally {
      this.starting = false;
    }
  }

  /**
   * The SFT adapter a DPO run without a checkpoint of its own starts from again: its start run's checkpoint, at the
   * same step (a checkpoint carries the policy and the reference, so a resume from one needs no start).
   */
  private async startAdapter(run: RunRecord): Promise<LoraAdapter | undefined> {
    if (!run.start) return undefined;
    const { runs } = await this.stores();
    const checkpoint = await runs.checkpoint(run.start.runId).catch(() => null);
    if (checkpoint?.step !== run.start.step) {
      throw new RunResumeError(`The SFT run "${run.start.name}" this DPO run started from no longer has its step ${run.start.step} checkpoint, so it cannot restart from the same adapter. Start a new run.`);
    }
    return checkpoint.adapter;
  }

  /** Switches to the run's mode and loads its settings (and data choice, where it still exists) into that form. */
  useSettings(id: string): void {
    const run = this.runs.find((r) => r.id === id);
    if (!run || this.training) return;
    void this.restoreChoices(run);
    this.notice = `Loaded the settings of "${run.name}".`;
  }

  /**
   * The run's mode, settings and data back in the page: its dataset (where it still exists) or the pre-tokenized
   * rows it stored, and for DPO its start adapter (while its SFT run is kept: its latest checkpoint, maybe later).
   */
  private async restoreChoices(run: RunRecord): Promise<void> {
    const kind = runKind(run);
    this.setMode(kind);
    this.form.load(run.settings, run.maxLen, run.trainOnInputs);
    if (kind === 'dpo') void this.chooseStart(this.runs.some((r) => r.id === run.start?.runId) ? run.start!.runId : null);
    const data = run.data;
    if (data.kind === 'dataset') {
      if (!this.datasets.some((d) => d.id === data.datasetId)) return;
      this.chosenFormat = data.format;
      await this.chooseDataset(data.datasetId);
      return;
    }
    try {
      const { runs } = await this.stores();
      this.source = 'file';
      this.previewIndex = 0;
      if (trainsOnPairs(kind)) {
        this.filePairs = await runs.pairs(run.id);
        this.pairFileName = data.name;
        this.pairFileError = null;
      } else {
        this.fileExamples = await runs.examples(run.id);
        this.fileName = data.name;
        this.fileError = null;
      }
    } catch (error) {
      this.error = messageOf(error);
    }
  }
}

const states = new WeakMap<EngineState, TrainState>();

/** The Train page's state, one per engine, kept while the user visits other pages (a run keeps training). */
export function useTrainState(): TrainState {
  const engine = useEngineState();
  let state = states.get(engine);
  if (!state) {
    const services = useServices();
    // Made in a root of its own, not in the component that first asks: $derived values made while a component
    // initializes belong to it, and once it is destroyed (the user went to another page) they go stale, so the
    // next visit would show a finished run as interrupted.
    $effect.root(() => {
      state = new TrainState(engine, services);
    });
    states.set(engine, state!);
  }
  return state!;
}
