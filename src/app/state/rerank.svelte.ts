// The Rerank page: the paper's reward-model reranking, live and over a whole eval set.
//   - RerankState: the playground's prompt form and sampling (it is a PlaygroundState), n samples from the policy
//     (the base model + the adapter the UI applies) decoded in one batched pass and streamed, then each scored by
//     the reward slot; the ranked list, the rank shown beside the baseline (sample 1), and the presenter view.
//   - RewardModelState: what is in the engine's reward slot, and putting a model there (a reward run's latest
//     checkpoint, or PEFT SEQ_CLS files).
//   - RankingGroupsState: every question of an eval set reranked, saved as the paper's ranking groups: answer sets
//     "<model> baseline (B)" and "<model> R1".."Rn", tagged in their origin so Reports can draw them.
import {
  REWARD_SLOT, type AdapterSlotInfo, type GenerateRequest, type RerankResult, type TokenEvent,
} from '../../engine/api';
import { runKind, type RunRecord, type RunStore } from '../../data/runs';
import { checkNumber } from '../../eval/answers';
import { buildGroupSets, rankByReward, type QuestionSamples } from '../../eval/ranking';
import type { AnswerOrigin, EvalSetRecord } from '../../eval/store';
import { messageOf } from '../lib/message';
import type { Services } from '../services';
import type { EngineState } from './engine.svelte';
import { evalStateOf, type EvalState } from './eval.svelte';
import { PlaygroundState } from './playground.svelte';
import { adapterStateOf } from './train-adapter.svelte';

export const NO_REWARD_MODEL =
  'No reward model is in the reward slot: pick a trained reward run or load PEFT reward-model files (task_type SEQ_CLS) under “Reward model”, or train one on the Train page.';
export const NO_MODEL = 'No model is loaded: load one on the Playground page (it stays loaded on every page).';

/** The paper ranks 5 samples per question. */
export const DEFAULT_N = 5;

/** Rows (questions × samples) decoded together in one ranking-groups call. */
export const GROUP_BATCH_ROWS = 20;

/** A reward run: a run whose latest checkpoint carries a reward head. */
export interface RewardRun {
  id: string;
  name: string;
  step: number;
}

/** The engine's reward slot, and the ways to fill it. */
export class RewardModelState {
  /** What the engine holds in the reward slot, as it last said; null when empty. */
  slot = $state.raw<AdapterSlotInfo | null>(null);
  /** Where the slot's model came from when this page put it there (a run, file names). */
  name = $state<string | null>(null);
  runs = $state.raw<RewardRun[]>([]);
  busy = $state<string | null>(null);
  error = $state<string | null>(null);
  constructor(
    private readonly engine: EngineState,
    private readonly services: Services,
  ) {
    engine.engine.onModelChange(() => {
      this.slot = null;
      this.name = null;
    });
  }

  /** What the slot holds, asked of the engine (a console or the Train page may have filled it). */
  async refresh(): Promise<AdapterSlotInfo | null> {
    if (!this.engine.model) {
      this.slot = null;
      return null;
    }
    try {
      const slot = (await this.engine.engine.adapterSlots()).find((s) => s.slot === REWARD_SLOT) ?? null;
      // The name is known only for what this page put there; a slot emptied or refilled elsewhere loses it.
      if (!slot || (this.slot && !sameShape(slot, this.slot))) this.name = null;
      this.slot = slot;
      return slot;
    } catch (error) {
      this.error = messageOf(error);
      return null;
    }
  }

  /** Runs whose latest checkpoint holds a reward head (a score), newest first. */
  async refreshRuns(): Promise<void> {
    try {
      const store = await this.runStore();
      const withCheckpoint = (await store.list()).filter((r) => r.checkpointStep !== null && runKind(r) === 'reward');
      const found: RewardRun[] = [];
      for (const run of withCheckpoint) {
        const checkpoint = await store.checkpoint(run.id);
        if (checkpoint?.adapter.score) found.push({ id: run.id, name: run.name, step: checkpoint.step });
      }
      this.runs = found;
    } catch (error) {
      this.error = messageOf(error);
    }
  }

  async useRun(id: string): Promise<void> {
    await this.task('Putting the reward model in its slot…', async () => {
      const store = await this.runStore();
      const run: RunRecord = await store.get(id);
      const checkpoint = await store.checkpoint(id);
      if (!checkpoint) throw new Error(`“${run.name}” has no checkpoint yet: train it until its first checkpoint first.`);
      if (!checkpoint.adapter.score) throw new Error(`“${run.name}” is not a reward model (its adapter has no score head): pick a reward-model run.`);
      await this.engine.engine.setAdapter(REWARD_SLOT, checkpoint.adapter);
      await this.refresh();
      this.name = `${run.name} (step ${checkpoint.step})`;
    });
  }

  /** PEFT files of a reward model (adapter_config.json with task_type SEQ_CLS, adapter_model.safetensors). */
  async loadFiles(files: File[]): Promise<void> {
    if (!files.length) return;
    await this.task('Loading the reward model…', async () => {
      await this.engine.engine.loadAdapterFiles(files, REWARD_SLOT);
      await this.refresh();
      this.name = files.map((f) => f.name).join(', ');
    });
  }

  async clear(): Promise<void> {
    await this.task('Emptying the reward slot…', async () => {
      await this.engine.engine.clearAdapter(REWARD_SLOT);
      this.slot = null;
      this.name = null;
    });
  }

  /** The reward model's name for provenance: where it came from, else its shape. */
  label(): string {
    if (this.name) return this.name;
    if (!this.slot) return 'none';
    return `reward slot (r ${this.slot.rank}, alpha ${this.slot.alpha})`;
  }

  private async runStore(): Promise<RunStore> {
    return (await this.services.stores()).runs;
  }

  private async task(label: string, fn: () => Promise<void>): Promise<void> {
    if (this.busy) return;
    if (!this.engine.model) {
      this.error = NO_MODEL;
      return;
    }
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

const sameShape = (a: AdapterSlotInfo, b: AdapterSlotInfo | null) =>
  b !== null && a.rank === b.rank && a.alpha === b.alpha && a.targets.join() === b.targets.join();

/** The live demo: the playground's prompt and sampling, n samples reranked by the reward slot. */
export class RerankState extends PlaygroundState {
  /** rewards[i] is sample i's reward (generation order); null until a run finishes uncancelled. */
  rewards = $state.raw<number[] | null>(null);
  /** Sample indices, best first. */
  order = $derived(this.rewards ? rankByReward(this.rewards) : []);
  /** The place in the ranked list shown beside the baseline (0: the top-1). */
  selected = $state(0);
  presenter = $state(false);
  notice = $state<string | null>(null);
  /** The prompt as the last run sent it, for the presenter view. */
  shownPrompt = $state('');
  readonly reward: RewardModelState;

  constructor(
    engine: EngineState,
    private readonly services: Services,
  ) {
    super(engine);
    this.n = DEFAULT_N;
    this.reward = new RewardModelState(engine, services);
    engine.engine.onModelChange(() => {
      this.samples = [];
      this.result = null;
      this.rewards = null;
    });
  }

  /** The policy that samples: the adapter the UI applies (Playground / Train), or the base model. */
  policyName(): string | null {
    return this.engine.adapterSlot ? (adapterStateOf(this.engine, this.services).applied?.name ?? this.engine.adapterSlot) : null;
  }

  /** The sample index at place `place` of the ranked list. */
  sampleAt(place: number): number | null {
    return this.order[place] ?? null;
  }

  /** Moves the selection through the ranked list, clamped to its ends. */
  move(by: number): void {
    if (!this.order.length) return;
    this.selected = Math.min(this.order.length - 1, Math.max(0, this.selected + by));
  }

  select(place: number): void {
    if (place >= 0 && place < this.order.length) this.selected = place;
  }

  togglePresenter(): void {
    this.presenter = !this.presenter;
  }

  protected override async blocker(): Promise<string | null> {
    if (!this.engine.model) return NO_MODEL;
    return (await this.reward.refresh()) ? null : NO_REWARD_MODEL;
  }

  protected override async decode(request: GenerateRequest, onToken: (event: TokenEvent) => void): Promise<RerankResult> {
    this.rewards = null;
    this.selected = 0;
    this.notice = null;
    const first = request.prompts[0];
    this.shownPrompt = 'ids' in first ? first.ids.join(', ') : [first.text, first.input].filter(Boolean).join('\n\n');
    const result = await this.engine.engine.rerank({ ...request, reward: REWARD_SLOT }, onToken);
    if (result.samples.some((s) => s.finishReason === 'cancelled')) {
      this.notice = 'Cancelled: the samples so far are shown in generation order, not ranked.';
    } else {
      this.rewards = result.rewards;
    }
    return result;
  }
}

/** What a ranking-groups run is asked to do. */
export interface GroupsForm {
  evalSetId: string;
  n: number;
  /** The groups' model name; empty means the model (and adapter) that samples. */
  name: string;
  mode: 'chat' | 'alpaca';
  temperature: number;
  topP: number;
  topK: number;
  seed: number;
  maxNewTokens: number;
}

/** The paper's ranking groups over a whole eval set, saved as n + 1 answer sets. */
export class RankingGroupsState {
  form = $state<GroupsForm>({
    evalSetId: '', n: DEFAULT_N, name: '', mode: 'chat', temperature: 0.7, topP: 0.9, topK: 40, seed: 42, maxNewTokens: 256,
  });
  /** Questions reranked so far by the run in flight. */
  progress = $state<{ done: number; total: number } | null>(null);
  running = $state(false);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  #cancelled = false;

  constructor(
    private readonly engine: EngineState,
    private readonly evals: EvalState,
    private readonly reward: RewardModelState,
    private readonly policyName: () => string | null,
  ) {}

  /** Prompt formats the model can use: its chat template when it has one, else Alpaca's. */
  modes(): GroupsForm['mode'][] {
    return this.engine.model?.hasChatTemplate ? ['chat', 'alpaca'] : ['alpaca'];
  }

  defaultName(): string {
    const model = this.engine.model;
    if (!model) return '';
    const policy = this.policyName();
    return policy ? `${model.label} + ${policy}` : model.label;
  }

  /** The eval set picked, or the newest one until one is picked. */
  evalSet(): EvalSetRecord | undefined {
    return this.evals.evalSet(this.form.evalSetId) ?? this.evals.evalSets[0];
  }

  /** Why the groups cannot be built now, or null. */
  blocker(): string | null {
    const model = this.engine.model;
    if (!this.evalSet()) return 'Import an eval set on the Evaluate page first.';
    if (this.engine.loading) return 'A model is loading; wait for it to finish.';
    if (!model) return NO_MODEL;
    if (!model.hasTokenizer) return `${model.label} has no tokenizer: questions are text, so load a model that comes with tokenizer.json.`;
    if (!this.reward.slot) return NO_REWARD_MODEL;
    return null;
  }

  /** Reranks every question of the eval set and saves groups B and R1..Rn; a cancelled run saves nothing. */
  async run(): Promise<void> {
    if (this.running) return;
    this.error = null;
    this.notice = null;
    await this.reward.refresh();
    const blocker = this.blocker();
    if (blocker) {
      this.error = blocker;
      return;
    }
    const f = $state.snapshot(this.form);
    const model = this.engine.model!;
    const evalSet = this.evalSet()!;
    this.running = true;
    this.#cancelled = false;
    this.progress = { done: 0, total: evalSet.items.length };
    try {
      const n = checkNumber('Samples', f.n, 1, 16, true);
      const sampling = {
        temperature: checkNumber('Temperature', f.temperature, 0, 10),
        topK: checkNumber('Top-k', f.topK, 0, 1e6, true),
        topP: checkNumber('Top-p', f.topP, 0, 1),
        seed: checkNumber('Seed', f.seed, 0, 2 ** 32 - 1, true),
      };
      const maxNewTokens = checkNumber('Max new tokens', f.maxNewTokens, 1, model.config.maxPositionEmbeddings, true);
      const mode = this.modes().includes(f.mode) ? f.mode : 'alpaca';
      const policySlot = this.engine.adapterSlot;
      const policy = this.policyName();
      const rewardName = this.reward.label();
      const name = f.name.trim() || this.defaultName();
      const questions = await this.#sample(evalSet, { n, sampling, maxNewTokens, mode, adapter: policySlot });
      if (!questions) {
        this.notice = `Cancelled after ${this.progress?.done ?? 0} of ${evalSet.items.length} questions; no answer set was saved (the groups are saved only when every question is ranked).`;
        return;
      }
      const local: Extract<AnswerOrigin, { kind: 'local' }> = {
        kind: 'local', model: model.label, ...(policy ? { adapter: policy } : {}),
        temperature: sampling.temperature, top_p: sampling.topP, top_k: sampling.topK, seed: sampling.seed, max_new_tokens: maxNewTokens,
      };
      const runId = crypto.randomUUID();
      const sets = buildGroupSets(evalSet.items, questions, name);
      const store = await this.evals.store();
      const now = Date.now();
      // Newest first in lists: B last written, so the sets read B, R1, R2 ... top down.
      for (const [i, set] of [...sets].reverse().entries()) {
        await store.putAnswerSet({
          id: crypto.randomUUID(), name: set.name, rows: set.rows, createdAt: now + i,
          origin: { ...local, ranking: { runId, group: set.group, n, reward: rewardName } },
        });
      }
      await this.evals.refresh();
      this.notice = `Saved ${sets.length} answer sets for ${evalSet.items.length} questions: “${sets[0].name}” and “${name} R1” … “${name} R${n}”. Judge them against an opponent on the Evaluate page; Reports draws them beside the paper's ranking groups.`;
    } catch (error) {
      this.error = messageOf(error);
    } finally {
      this.running = false;
      this.progress = null;
    }
  }

  /** Stops the run in flight; nothing of it is saved. */
  cancel(): void {
    if (!this.running) return;
    this.#cancelled = true;
    void this.engine.engine.cancel();
  }

  /** Every question's n samples (generation order) and rewards, or null when cancelled. */
  async #sample(
    evalSet: EvalSetRecord,
    s: { n: number; sampling: GenerateRequest['sampling']; maxNewTokens: number; mode: 'chat' | 'alpaca'; adapter: string | null },
  ): Promise<QuestionSamples[] | null> {
    const batch = Math.max(1, Math.floor(GROUP_BATCH_ROWS / s.n));
    const out: QuestionSamples[] = [];
    for (let i = 0; i < evalSet.items.length; i += batch) {
      // A cancel between two calls finds no rerank() running: the flag stops the next one.
      if (this.#cancelled) return null;
      const chunk = evalSet.items.slice(i, i + batch);
      const result = await this.engine.engine.rerank({
        prompts: chunk.map((q) => ({ text: q.instruction, input: q.input, mode: s.mode })),
        n: s.n, maxNewTokens: s.maxNewTokens, sampling: s.sampling, adapter: s.adapter, reward: REWARD_SLOT,
      });
      if (this.#cancelled || result.samples.some((x) => x.finishReason === 'cancelled')) return null;
      chunk.forEach((_, p) => {
        const mine = result.samples.map((sample, k) => ({ sample, reward: result.rewards[k] })).filter((x) => x.sample.prompt === p);
        out.push({ texts: mine.map((x) => x.sample.text), rewards: mine.map((x) => x.reward) });
      });
      this.progress = { done: out.length, total: evalSet.items.length };
    }
    return out;
  }
}

const states = new WeakMap<EngineState, { rerank: RerankState; groups: RankingGroupsState }>();

/** The Rerank page's state for an engine: one per page load, so a run keeps going while other pages are open. */
export function rerankStateOf(engine: EngineState, services: Services): { rerank: RerankState; groups: RankingGroupsState } {
  let state = states.get(engine);
  if (!state) {
    // Made in a root of its own, not in the page that first asks: $derived values made while a component
    // initializes belong to it and go stale once it is destroyed (the next visit would see the old model).
    $effect.root(() => {
      const rerank = new RerankState(engine, services);
      state = { rerank, groups: new RankingGroupsState(engine, evalStateOf(services), rerank.reward, () => rerank.policyName()) };
    });
    states.set(engine, state!);
  }
  return state!;
}
