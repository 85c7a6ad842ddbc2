// The Rerank page's state against a fake engine (and fake IndexedDB): a run needs a model and a reward model and
// says so; samples are ranked by the rewards rerank() returns, a cancelled run is not; the reward picker lists
// only reward runs and refuses an adapter without a score head; ranking groups over an eval set batch the
// questions, save B and R1..Rn tagged with one run id and their provenance, and save nothing when cancelled.
import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, test } from 'vitest';
import type { AdapterSlotInfo, ModelInfo, RerankRequest, RerankResult, Sample, TokenEvent } from '../../src/engine/api';
import type { EngineClient } from '../../src/engine/client';
import { sharedStudioDB } from '../../src/data/db';
import { RunStore, type NewRun } from '../../src/data/runs';
import type { LoraAdapter } from '../../src/model/lora';
import { defaultSftSettings } from '../../src/train/run';
import { EngineState } from '../../src/app/state/engine.svelte';
import { evalStateOf } from '../../src/app/state/eval.svelte';
import { Services } from '../../src/app/services';
import { EvalStore } from '../../src/eval/store';
import { GROUP_BATCH_ROWS, NO_REWARD_MODEL, RankingGroupsState, RerankState, RewardModelState } from '../../src/app/state/rerank.svelte';

const model: ModelInfo = {
  label: 'tiny', hasTokenizer: true, hasChatTemplate: false, parameterCount: 1000, weightDtype: 'f32', gpuBytes: 4000,
  config: {
    architecture: 'llama', vocabSize: 97, hiddenSize: 4, intermediateSize: 8, numLayers: 1, numHeads: 1, numKvHeads: 1, headDim: 4,
    ropeTheta: 10000, rmsNormEps: 1e-6, tieWordEmbeddings: false, attentionBias: false, maxPositionEmbeddings: 128, bosTokenId: 1, eosTokenIds: [2],
  },
  kernels: { adapter: 'none', weightDtype: 'f32', fallback: null, checks: [], checksFrom: 'cache', tuning: 'pinned', pins: {}, choices: [], setupMs: 0 },
};

const adapter = (score?: number[]): LoraAdapter => ({
  rank: 2, alpha: 4, dropout: 0, targets: ['q_proj'], baseModel: 'tiny',
  modules: [{ layer: 0, target: 'q_proj', inFeatures: 4, outFeatures: 4, A: new Float32Array(8), B: new Float32Array(8) }],
  ...(score ? { score: Float32Array.from(score) } : {}),
});

/** A fake engine: slots in a map; rerank() gives sample s of prompt p the text "p<p>s<s>" and reward rewardOf(p, s). */
class FakeEngine {
  slots = new Map<string, AdapterSlotInfo>();
  requests: RerankRequest[] = [];
  cancels = 0;
  rewardOf = (p: number, s: number) => ((s * 3 + p) % 5) - 2;
  /** Called at the start of each rerank(); may mark the call cancelled. */
  onRerank: (call: number) => boolean = () => false;
  listeners = new Set<(info: ModelInfo | null) => void>();

  client(): EngineClient {
    const fake = {
      onModelChange: (l: (info: ModelInfo | null) => void) => (this.listeners.add(l), () => this.listeners.delete(l)),
      adapterSlots: async () => [...this.slots.values()],
      setAdapter: async (slot: string, a: LoraAdapter) => void this.slots.set(slot, { slot, rank: a.rank, alpha: a.alpha, targets: a.targets }),
      clearAdapter: async (slot = 'policy') => void this.slots.delete(slot),
      cancel: async () => void this.cancels++,
      modelInfo: async () => model,
      rerank: async (request: RerankRequest, onToken?: (e: TokenEvent) => void): Promise<RerankResult> => {
        this.requests.push(structuredClone(request));
        const cancelled = this.onRerank(this.requests.length);
        const samples: Sample[] = [];
        const rewards: number[] = [];
        request.prompts.forEach((_, p) => {
          for (let s = 0; s < request.n; s++) {
            const text = `p${p}s${s}`;
            onToken?.({ sample: p * request.n + s, id: 5, text });
            samples.push({ prompt: p, seed: request.sampling.seed + s, ids: [5], text, finishReason: cancelled ? 'cancelled' : 'length' });
            rewards.push(this.rewardOf(p, s));
          }
        });
        return { samples, rewards, promptTokens: 3, prefillTokensPerSecond: 1, decodeTokensPerSecond: 1, dispatchesPerStep: 1, submitsPerStep: 1 };
      },
    };
    return fake as unknown as EngineClient;
  }
}

/** The page's services over the test's engine; the stores are the shared (fake) IndexedDB's. */
function setup() {
  const fake = new FakeEngine();
  const services = new Services(fake.client());
  const engine = new EngineState(services.engine, null);
  engine.model = model;
  return { fake, engine, services };
}

describe('RerankState', () => {
  test('without a reward model a run says what to do and asks nothing of the engine', async () => {
    const { fake, engine, services } = setup();
    const rerank = new RerankState(engine, services);
    expect(rerank.n).toBe(5);
    rerank.chosenMode = 'alpaca';
    rerank.instruction = 'Say hi.';
    await rerank.generate();
    expect(rerank.error).toBe(NO_REWARD_MODEL);
    expect(fake.requests).toEqual([]);
    expect(rerank.running).toBe(false);
  });

  test('samples ranked by reward, best first, ties in generation order; the pick moves and clamps', async () => {
    const { fake, engine, services } = setup();
    fake.slots.set('reward', { slot: 'reward', rank: 8, alpha: 16, targets: ['q_proj'] });
    fake.rewardOf = (_p, s) => [0.5, 2, -1, 2, 0.1][s];
    const rerank = new RerankState(engine, services);
    rerank.instruction = 'Say hi.';
    await rerank.generate();
    expect(rerank.error).toBeNull();
    expect(fake.requests[0]).toMatchObject({ n: 5, reward: 'reward', adapter: null, prompts: [{ text: 'Say hi.', input: '', mode: 'alpaca' }] });
    expect(rerank.rewards).toEqual([0.5, 2, -1, 2, 0.1]);
    expect(rerank.order).toEqual([1, 3, 0, 4, 2]);
    expect(rerank.samples.map((s) => s.text)).toEqual(['p0s0', 'p0s1', 'p0s2', 'p0s3', 'p0s4']);
    expect(rerank.shownPrompt).toBe('Say hi.');
    expect(rerank.selected).toBe(0);
    rerank.move(1);
    expect(rerank.sampleAt(rerank.selected)).toBe(3);
    rerank.move(10);
    expect(rerank.selected).toBe(4);
    rerank.move(-10);
    expect(rerank.selected).toBe(0);
    rerank.togglePresenter();
    expect(rerank.presenter).toBe(true);
    // The reward model's shape is what the engine said, its name unknown (put there from outside this page).
    expect(rerank.reward.label()).toBe('reward slot (r 8, alpha 16)');
  });

  test('the policy is the adapter slot the UI applies', async () => {
    const { fake, engine, services } = setup();
    fake.slots.set('reward', { slot: 'reward', rank: 8, alpha: 16, targets: ['q_proj'] });
    engine.adapterSlot = 'policy';
    const rerank = new RerankState(engine, services);
    rerank.instruction = 'Say hi.';
    await rerank.generate();
    expect(fake.requests[0].adapter).toBe('policy');
  });

  test('a cancelled run keeps its samples unranked', async () => {
    const { fake, engine, services } = setup();
    fake.slots.set('reward', { slot: 'reward', rank: 8, alpha: 16, targets: ['q_proj'] });
    fake.onRerank = () => true;
    const rerank = new RerankState(engine, services);
    rerank.instruction = 'Say hi.';
    await rerank.generate();
    expect(rerank.rewards).toBeNull();
    expect(rerank.order).toEqual([]);
    expect(rerank.samples).toHaveLength(5);
    expect(rerank.notice).toMatch(/^Cancelled/);
  });
});

describe('RewardModelState', () => {
  test('lists reward runs with a checkpoint only; a run puts its adapter in the reward slot by name; an SFT adapter is refused', async () => {
    const { fake, engine, services } = setup();
    const store = new RunStore(await sharedStudioDB());
    const base: NewRun = {
      name: 'sft', model: { label: 'tiny', parameterCount: 1000, vocabSize: 97 }, settings: defaultSftSettings, maxLen: 64, trainOnInputs: false, totalSteps: 10,
      data: { kind: 'dataset', datasetId: 'd', name: 'd', format: 'alpaca', rowCount: 2, updatedAt: 0 },
    };
    const sft = await store.create(base);
    await store.saveCheckpoint(sft.id, { step: 3, adapter: adapter(), optimizer: { m: [], v: [] } }, []);
    const rm = await store.create({ ...base, name: 'rm', kind: 'reward' });
    await store.saveCheckpoint(rm.id, { step: 7, adapter: adapter([1, 2, 3, 4]), optimizer: { m: [], v: [] } }, []);
    await store.create({ ...base, name: 'rm without checkpoint', kind: 'reward' });

    const reward = new RewardModelState(engine, services);
    await reward.refreshRuns();
    expect(reward.runs).toEqual([{ id: rm.id, name: 'rm', step: 7 }]);
    await reward.useRun(rm.id);
    expect(reward.error).toBeNull();
    expect(fake.slots.get('reward')).toEqual({ slot: 'reward', rank: 2, alpha: 4, targets: ['q_proj'] });
    expect(reward.label()).toBe('rm (step 7)');

    await reward.useRun(sft.id);
    expect(reward.error).toBe('“sft” is not a reward model (its adapter has no score head): pick a reward-model run.');
    expect(reward.label()).toBe('rm (step 7)');

    // Emptied elsewhere: the name goes with it.
    fake.slots.delete('reward');
    await reward.refresh();
    expect(reward.slot).toBeNull();
    expect(reward.label()).toBe('none');
  });
});

describe('RankingGroupsState', () => {
  const items = Array.from({ length: 6 }, (_, i) => ({ id: String(i + 1), category: '', instruction: `Question ${i + 1}?`, input: i === 2 ? 'ctx' : '' }));
  let evalSetId = '';

  beforeEach(async () => {
    const store = new EvalStore(await sharedStudioDB());
    for (const s of await store.answerSets()) await store.deleteAnswerSet(s.id);
    evalSetId = crypto.randomUUID();
    await store.putEvalSet({ id: evalSetId, name: 'six', items, createdAt: Date.now() });
  });

  async function groups(engine: EngineState, services: Services) {
    const evals = evalStateOf(services);
    await evals.refresh();
    const reward = new RewardModelState(engine, services);
    const state = new RankingGroupsState(engine, evals, reward, () => (engine.adapterSlot ? 'sft run' : null));
    state.form.evalSetId = evalSetId;
    return { state, evals, reward };
  }

  test('blocked without a reward model; then every question reranked in batches and saved as B, R1..Rn', async () => {
    const { fake, engine, services } = setup();
    const { state, evals } = await groups(engine, services);
    await state.run();
    expect(state.error).toBe(NO_REWARD_MODEL);

    await engine.engine.setAdapter('reward', adapter([1, 1, 1, 1]));
    engine.adapterSlot = 'policy';
    state.form.n = 4;
    state.form.maxNewTokens = 16;
    state.form.temperature = 1;
    await state.run();
    expect(state.error).toBeNull();
    // 20 rows a call: 5 questions of 4 samples, then the sixth.
    expect(GROUP_BATCH_ROWS).toBe(20);
    expect(fake.requests.map((r) => r.prompts.length)).toEqual([5, 1]);
    expect(fake.requests[0]).toMatchObject({
      n: 4, maxNewTokens: 16, adapter: 'policy', reward: 'reward', sampling: { temperature: 1, topP: 0.9, topK: 40, seed: 42 },
    });
    expect(fake.requests[0].prompts[2]).toEqual({ text: 'Question 3?', input: 'ctx', mode: 'alpaca' });

    const sets = (await (await evals.store()).answerSets()).filter((s) => s.origin.kind === 'local' && s.origin.ranking);
    // Listed newest first: B, then R1 .. R4.
    expect(sets.map((s) => s.name)).toEqual(['tiny + sft run baseline (B)', 'tiny + sft run R1', 'tiny + sft run R2', 'tiny + sft run R3', 'tiny + sft run R4']);
    expect(new Set(sets.map((s) => s.origin.kind === 'local' && s.origin.ranking?.runId)).size).toBe(1);
    expect(sets[1].origin).toMatchObject({
      kind: 'local', model: 'tiny', adapter: 'sft run', temperature: 1, top_p: 0.9, top_k: 40, seed: 42, max_new_tokens: 16,
      ranking: { group: 1, n: 4, reward: 'reward slot (r 2, alpha 4)' },
    });
    // Question 1 is prompt 0 of the first call: rewards (3s + 0) % 5 - 2 for s = 0..3: -2, 1, -1, 2.
    expect(sets.map((s) => s.rows[0].text)).toEqual(['p0s0', 'p0s3', 'p0s1', 'p0s2', 'p0s0']);
    // Question 6 is prompt 0 of the second call.
    expect(sets.map((s) => s.rows[5].text)).toEqual(['p0s0', 'p0s3', 'p0s1', 'p0s2', 'p0s0']);
    expect(sets[1].rows.map((r) => r.id)).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(state.notice).toMatch(/^Saved 5 answer sets for 6 questions/);
    expect(state.running).toBe(false);
    expect(state.progress).toBeNull();
  });

  test('a cancel during a call saves nothing', async () => {
    const { fake, engine, services } = setup();
    const { state, evals } = await groups(engine, services);
    await engine.engine.setAdapter('reward', adapter([1, 1, 1, 1]));
    state.form.maxNewTokens = 16;
    fake.onRerank = (call) => {
      if (call === 1) state.cancel();
      return call === 1;
    };
    await state.run();
    expect(state.error).toBeNull();
    expect(fake.cancels).toBe(1);
    expect(fake.requests).toHaveLength(1);
    expect(state.notice).toMatch(/^Cancelled after 0 of 6 questions; no answer set was saved/);
    expect((await (await evals.store()).answerSets()).length).toBe(0);
  });
});
