// The LoRA adapter applied to generation, held in the engine's policy slot: PEFT files picked by the user, a
// trained run's latest checkpoint, or none (the base model). A comparison runs the playground's prompt twice,
// without and with the adapter, with the same seeds, so base and tuned samples sit side by side.
import { POLICY_SLOT, type GenerateResult } from '../../engine/api';
import { runKind, type RunRecord, type RunStore } from '../../data/runs';
import type { EngineState } from './engine.svelte';
import type { PlaygroundState, SampleView } from './playground.svelte';
import { messageOf } from '../lib/message';
import type { Services } from '../services';

export interface AppliedAdapter {
  /** Where it came from: file names or the run's name. */
  name: string;
  rank: number;
  alpha: number;
  targets: string[];
}

export class AdapterState {
  applied = $state.raw<AppliedAdapter | null>(null);
  /** SFT and DPO runs with a checkpoint, whose adapter can be applied (a reward model's goes to the reward slot instead). */
  runs = $state.raw<RunRecord[]>([]);
  busy = $state<string | null>(null);
  error = $state<string | null>(null);
  /** Samples of the base model from the last comparison, and the playground result they pair with. */
  base = $state.raw<SampleView[]>([]);
  private tunedResult = $state.raw<GenerateResult | null>(null);
  constructor(
    private readonly engine: EngineState,
    private readonly services: Services,
  ) {
    // A model load (or a crashed worker) starts without an adapter.
    engine.engine.onModelChange(() => {
      this.applied = null;
      this.engine.adapterSlot = null;
      this.base = [];
      this.tunedResult = null;
    });
  }

  private async runStore(): Promise<RunStore> {
    return (await this.services.stores()).runs;
  }

  async refreshRuns(): Promise<void> {
    try {
      this.runs = (await (await this.runStore()).list()).filter((r) => r.checkpointStep !== null && runKind(r) !== 'reward');
    } catch (error) {
      this.error = messageOf(error);
    }
  }

  /** Whether the playground's current result is the tuned half of the last comparison. */
  pairsWith(result: GenerateResult | null): boolean {
    return result !== null && result === this.tunedResult && this.base.length > 0;
  }

  /** The engine applied a run's adapter when the run finished or paused. */
  trained(run: RunRecord): void {
    this.applied = { name: run.name, rank: run.settings.rank, alpha: run.settings.alpha, targets: run.settings.targets };
    this.engine.adapterSlot = POLICY_SLOT;
  }

  async loadFiles(files: File[]): Promise<void> {
    await this.task('Loading the adapter…', async () => {
      const applied = await this.engine.engine.loadAdapterFiles(files, POLICY_SLOT);
      this.applied = { ...applied, name: files.map((f) => f.name).join(', ') };
      this.engine.adapterSlot = POLICY_SLOT;
    });
  }

  async useRun(id: string): Promise<void> {
    await this.task('Applying the run’s adapter…', async () => {
      const store = await this.runStore();
      const run = await store.get(id);
      if (runKind(run) === 'reward') throw new Error(`"${run.name}" is a reward model: it scores responses on the Rerank page rather than generating; pick an SFT or DPO run.`);
      const checkpoint = await store.checkpoint(id);
      if (!checkpoint) throw new Error(`"${run.name}" has no checkpoint yet: train it until its first checkpoint first.`);
      const { adapter } = checkpoint;
      await this.engine.engine.setAdapter(POLICY_SLOT, adapter);
      this.applied = { rank: adapter.rank, alpha: adapter.alpha, targets: adapter.targets, name: `${run.name} (step ${checkpoint.step})` };
      this.engine.adapterSlot = POLICY_SLOT;
    });
  }

  async clear(): Promise<void> {
    await this.task('Removing the adapter…', async () => {
      await this.engine.engine.clearAdapter(POLICY_SLOT);
      this.applied = null;
      this.engine.adapterSlot = null;
    });
  }

  /** Generates the playground's prompt with the base model, then with the adapter, same seeds. */
  async compare(play: PlaygroundState): Promise<void> {
    if (!this.applied || !play.canGenerate) return;
    await this.task('Comparing base and adapter…', async () => {
      this.base = [];
      this.tunedResult = null;
      await play.generate(null);
      const base = play.samples;
      if (play.error || base.some((s) => s.finishReason === 'cancelled')) return;
      await play.generate();
      if (play.error) return;
      this.base = base;
      this.tunedResult = play.result;
    });
  }

  private async task(label: string, fn: () => Promise<void>): Promise<void> {
    if (this.busy) return;
    this.busy = label;
    this.error = null;
    try {
      await fn();
    } catch (error) {
      this.error = messageOf(error);
    } finally {
      this.busy = null;
    }
  }
}

const states = new WeakMap<EngineState, AdapterState>();

/** The adapter state of an engine, shared by the Train page and the Playground. */
export function adapterStateOf(engine: EngineState, services: Services): AdapterState {
  let state = states.get(engine);
  if (!state) {
    // In a root of its own: $derived values made inside a page's component go stale once that page is left.
    $effect.root(() => {
      state = new AdapterState(engine, services);
    });
    states.set(engine, state!);
  }
  return state!;
}
