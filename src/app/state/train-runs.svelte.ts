// The Train page's runs: those kept in IndexedDB (RunStore), the one training now and its live events, and the
// engine calls that train, pause, export and place a run's result. The lifecycle itself (record, checkpoints,
// resume checks) is RunSession's (src/train/session.ts), shared with the CLI; this keeps the page's view of it.
// An SFT or DPO run's adapter lands in the policy slot (the Playground's), a reward model in the reward slot,
// where the Rerank page reads it.
import { REWARD_SLOT, type DpoTrainRequest, type RewardTrainRequest, type TrainRequest } from '../../engine/api';
import { dpoSettingsOf, rewardSettingsOf, runKind, type RunRecord } from '../../data/runs';
import type { LoraAdapter } from '../../model/lora';
import { exportPeftAdapter, type PeftFiles } from '../../train/peft';
import type { Checkpoint, TrainEvent } from '../../train/run';
import { checkModel, type LoadedModel, type RunSession } from '../../train/session';
import type { EngineState } from './engine.svelte';
import { adapterStateOf } from './train-adapter.svelte';
import { lastValue } from './train-data';
import { messageOf } from '../lib/message';
import type { Services, Stores } from '../services';

/** The data of a run, ready for the engine, by kind; a DPO run may start from an SFT adapter. */
export type RunInput =
  | { kind: 'sft'; data: TrainRequest['data'] }
  | { kind: 'reward'; data: RewardTrainRequest['data'] }
  | { kind: 'dpo'; data: DpoTrainRequest['data']; start?: LoraAdapter };

/** GPU losses a run resumes from by itself before it fails. */
const MAX_GPU_LOSSES = 3;

export class TrainRuns {
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
  /** When and at which step this page started or resumed the active run, and its latest event, for the ETA. */
  private clock = $state.raw<{ t0: number; step0: number; t: number; step: number } | null>(null);

  constructor(
    protected readonly engine: EngineState,
    protected readonly services: Services,
  ) {
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

  active = $derived(this.runs.find((r) => r.id === this.activeId) ?? null);
  viewed = $derived(this.runs.find((r) => r.id === (this.activeId ?? this.viewedId)) ?? null);
  viewedEvents = $derived.by((): TrainEvent[] => (this.activeId !== null && this.viewed?.id === this.activeId ? this.liveEvents : (this.viewed?.events ?? [])));
  training = $derived(this.activeId !== null);
  /** Seconds left for the active run, from the pace since this page started or resumed it. */
  eta = $derived.by((): number | null => {
    const c = this.clock;
    const total = this.liveEvents.at(-1)?.totalSteps;
    if (!c || total === undefined || c.step <= c.step0) return null;
    return ((c.t - c.t0) / 1000 / (c.step - c.step0)) * (total - c.step);
  });

  protected stores(): Promise<Stores> {
    return this.services.stores();
  }

  /** A run is interrupted when the database says running but this page is not training it. */
  isInterrupted(run: RunRecord): boolean {
    return run.status === 'running' && run.id !== this.activeId;
  }

  /** Whether a run can continue: not finished and not training now. */
  canResume(run: RunRecord): boolean {
    return run.status !== 'finished' && run.id !== this.activeId && !this.training;
  }

  /** The loaded model as a run records it (null: none loaded). */
  protected loadedModel(): LoadedModel | null {
    const model = this.engine.model;
    return model && { label: model.label, parameterCount: model.parameterCount, vocabSize: model.config.vocabSize };
  }

  /** Refuses a run of another model than the loaded one; `what` ends the message ("resume it"). */
  protected checkModel(run: RunRecord, what: string): void {
    checkModel(run, this.loadedModel(), what);
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

  /** Keeps the run list and the live curve in step with a session's record and events. */
  protected readonly follow = (run: RunRecord, events: TrainEvent[]): void => {
    this.replace(run);
    if (run.id === this.activeId) this.liveEvents = events;
  };

  protected async train(session: RunSession, data: RunInput): Promise<void> {
    const id = session.id;
    const release = await holdRunLock(id);
    this.activeId = id;
    this.viewedId = id;
    this.liveEvents = session.events;
    const t0 = performance.now();
    this.clock = { t0, step0: session.startStep, t: t0, step: session.startStep };
    this.pausing = false;
    try {
      const result = await this.trainOnEngine(session, data);
      const updated = await session.finish(result);
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
      } else if (data.kind === 'dpo') {
        adapterStateOf(this.engine, this.services).trained(updated);
        const accuracy = lastValue(this.liveEvents, 'valAccuracy') ?? lastValue(this.liveEvents, 'accuracy');
        const scored = accuracy === null ? '' : `, reward accuracy ${(accuracy * 100).toFixed(1)}%`;
        this.notice =
          result.status === 'finished'
            ? `Finished ${result.steps} steps${loss}${scored}. The DPO adapter is applied in the Playground; export it (PEFT, CAUSAL_LM) from the run list.`
            : `Paused at step ${result.steps}; its adapter is applied in the Playground. Resume continues from this checkpoint.`;
      } else {
        adapterStateOf(this.engine, this.services).trained(updated);
        this.notice =
          result.status === 'finished'
            ? `Finished ${result.steps} steps${loss}. The adapter is applied in the Playground; export it from the run list.`
            : `Paused at step ${result.steps}; its adapter is applied in the Playground. Resume continues from this checkpoint.`;
      }
    } catch (error) {
      const message = messageOf(error);
      this.error = message;
      await session.fail(message);
    } finally {
      this.activeId = null;
      this.pausing = false;
      release();
    }
  }

  /**
   * The engine's trainSft(), trainReward() or trainDpo() for the session's run from its checkpoint. A GPU lost
   * mid-run (the engine says from which checkpoint it resumes) brings the model back on a new device and continues
   * from the run's stored checkpoint.
   */
  private async trainOnEngine(session: RunSession, input: RunInput) {
    const run = session.run;
    const onEvent = (event: TrainEvent) => {
      if (session.onEvent(event) && this.clock) this.clock = { ...this.clock, t: performance.now(), step: event.step };
    };
    const onCheckpoint = (saved: Checkpoint) => session.saveCheckpoint(saved);
    for (let losses = 0; ; losses++) {
      const resume = session.checkpoint ?? undefined;
      try {
        if (input.kind === 'dpo') {
          const request: DpoTrainRequest = { data: input.data, settings: dpoSettingsOf(run), maxLen: run.maxLen, start: input.start, resume };
          return await this.engine.engine.trainDpo(request, onEvent, onCheckpoint);
        }
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
        await session.rewind();
        const now = performance.now();
        this.clock = { t0: now, step0: session.startStep, t: now, step: session.startStep };
      }
    }
  }

  protected replace(run: RunRecord): void {
    this.runs = this.runs.map((r) => (r.id === run.id ? run : r));
  }

  view(id: string): void {
    this.viewedId = id;
  }

  toggleCompare(id: string, on: boolean): void {
    this.compareIds = on ? [...new Set([...this.compareIds, id])] : this.compareIds.filter((x) => x !== id);
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
      if (runKind(run) !== 'reward') throw new Error(`"${run.name}" is ${runKind(run) === 'dpo' ? 'a DPO' : 'an SFT'} run: only a reward model run can go in the reward slot.`);
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

  /** The run's latest checkpoint as PEFT files (adapter_config.json, adapter_model.safetensors), self-tested; a reward model's are SEQ_CLS, an SFT or DPO adapter's CAUSAL_LM. */
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

const runLock = (id: string) => `instruct-studio-run-${id}`;

/** Holds a Web Lock named after the run while this tab trains it (the browser frees it when the tab goes). */
function holdRunLock(id: string): Promise<() => void> {
  const locks = globalThis.navigator?.locks;
  if (!locks) return Promise.resolve(() => {});
  return new Promise((held) => void locks.request(runLock(id), () => new Promise<void>((release) => held(release))));
}

/** Whether another tab of the studio is training the run now. */
export async function trainedElsewhere(id: string): Promise<boolean> {
  const locks = globalThis.navigator?.locks;
  if (!locks) return false;
  return ((await locks.query()).held ?? []).some((lock) => lock.name === runLock(id));
}
