// Batched generation: each distinct prompt is prefilled once into a scratch KV cache and copied into the
// rows of its samples; then every step decodes all rows together in one pass and one queue submit.
// Prompts of different lengths are right-aligned in the cache: row b's prompt fills slots
// [validFrom[b], P) where P is the longest prompt, so all rows decode the same slot each step.
// The buffers live in an InferenceWorkspace, planned before allocation and reused by later calls.
// Dimension letters: B decoded rows, P longest prompt, S slots per row, C hidden, V vocab, R LoRA rank.
import type { GpuContext } from '../gpu/context';
import { rewardForward } from '../kernels/reward';
import { NON_FINITE_LOGITS, sampleForward } from '../kernels/sample';
import type { ModelConfig } from './config';
import { NonFiniteLogitsError } from './errors';
import { copyKvRows, forward, layoutActivations, layoutKvCache, type Activations, type KvCache, type ModelOnGpu } from './forward';
import { lmLogits } from './heads';
import { loraTargets, type GpuLora } from './lora';
import { allocator, MemoryPlan, planner, type Make } from './memory';

export interface Sampling {
  temperature: number; // 0 = greedy
  topK: number; // 0 = off
  topP: number; // 1 = off
  seed: number;
}

export interface GenerationOptions {
  /** Samples per prompt; sample s of a prompt uses seed `sampling.seed + s`. */
  n: number;
  maxNewTokens: number;
  sampling: Sampling;
  /** Ids that end a sample (EOS); the id itself is kept in `ids` but not in text. */
  stopIds: number[];
  /** Strings that end a sample; the text is cut before them. */
  stopStrings: string[];
  /** Text of a sample's generated ids; without a tokenizer, return ''. */
  decode: (ids: number[]) => string;
  onToken?: (sample: number, id: number, text: string) => void;
  isCancelled?: () => boolean;
}

export interface GeneratedSample {
  prompt: number;
  seed: number;
  ids: number[];
  text: string;
  finishReason: 'eos' | 'stop' | 'length' | 'cancelled';
}

export interface GenerationStats {
  promptTokens: number;
  prefillSeconds: number;
  decodeSeconds: number;
  decodeSteps: number;
  decodeDispatches: number;
  decodeSubmits: number;
  /** Tokens accepted during decode steps (all but the first token of each sample). */
  decodeTokens: number;
}

/** The largest call an InferenceWorkspace serves: B rows, prompts up to P tokens, S slots, logits for L rows. */
export interface InferenceShape {
  B: number;
  P: number;
  S: number;
  L: number;
  /** The largest LoRA rank applied (0 without adapters): one intermediate serves every module. */
  R: number;
}

interface InferenceBuffers<Buf> {
  acts: Activations<Buf>; // N = max(P, B) token rows, M = max(B, L) head rows
  cache: KvCache<Buf>; // (B, S)
  scratch: KvCache<Buf>; // (1, S): one prompt's prefill
  ids: Buf; // u32 (max(P, B))
  positions: Buf; // u32 (max(P, B))
  promptValidFrom: Buf; // u32 (1)
  headRows: Buf; // u32 (M): the token rows a head reads (after prefill: the last prompt token)
  validFrom: Buf; // u32 (B)
  lastHidden: Buf; // (B, C) each row's hidden state after prefill
  logits: Buf; // (max(B, L), V)
  rewards: Buf; // (max(B, L)) the reward head's output when scoring
  nextIds: Buf; // u32 (B) sampled ids, the next step's input
  seeds: Buf; // u32 (B)
}

function layoutInference<Buf>(make: Make<Buf>, config: ModelConfig, shape: InferenceShape): InferenceBuffers<Buf> {
  const { B, P, S, L, R } = shape;
  const N = Math.max(P, B);
  const M = Math.max(B, L);
  const u32 = (label: string, n: number) => make('inputs', label, n * 4);
  return {
    acts: layoutActivations(make, config, N, M, R > 0 ? { rank: R, targets: loraTargets } : null, false),
    cache: layoutKvCache(make, config, B, S),
    scratch: layoutKvCache(make, config, 1, S, 'prefill kv'),
    ids: u32('ids', N),
    positions: u32('positions', N),
    promptValidFrom: u32('prompt validFrom', 1),
    headRows: u32('head rows', M),
    validFrom: u32('validFrom', B),
    lastHidden: make('activations', 'last hidden', B * config.hiddenSize * 4),
    logits: make('head', 'logits', M * config.vocabSize * 4),
    rewards: make('head', 'rewards', M * 4),
    nextIds: u32('next ids', B),
    seeds: u32('seeds', B),
  };
}

/** The buffers of inference for calls up to `shape`. */
export function planInference(config: ModelConfig, shape: InferenceShape): MemoryPlan {
  const plan = new MemoryPlan();
  layoutInference(planner(plan), config, shape);
  return plan;
}

/**
 * Inference buffers kept between calls: a call that fits the current shape reuses them; a larger one replaces
 * them with buffers for the larger of both shapes, after `check` has seen the plan (and may refuse it).
 */
export class InferenceWorkspace {
  private shape: InferenceShape | null = null;
  private current: InferenceBuffers<GPUBuffer> | null = null;
  private owned: GPUBuffer[] = [];

  constructor(
    private readonly ctx: GpuContext,
    private readonly config: ModelConfig,
    private readonly check: (plan: MemoryPlan) => void,
  ) {}

  reserve(need: InferenceShape): InferenceBuffers<GPUBuffer> {
    const old = this.shape;
    if (this.current && old && (Object.keys(need) as (keyof InferenceShape)[]).every((k) => need[k] <= old[k])) return this.current;
    const shape = old ? { B: Math.max(old.B, need.B), P: Math.max(old.P, need.P), S: Math.max(old.S, need.S), L: Math.max(old.L, need.L), R: Math.max(old.R, need.R) } : need;
    this.check(planInference(this.config, shape));
    this.destroy();
    this.current = layoutInference(allocator(this.ctx, this.owned), this.config, shape);
    this.shape = shape;
    return this.current;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.owned.reduce((a, b) => a + b.size, 0);
  }

  destroy(): void {
    for (const buffer of this.owned) buffer.destroy();
    this.owned = [];
    this.current = null;
    this.shape = null;
  }
}

export async function generate(
  model: ModelOnGpu,
  lora: GpuLora | null,
  workspace: InferenceWorkspace,
  prompts: number[][],
  options: GenerationOptions,
): Promise<{ samples: GeneratedSample[]; stats: GenerationStats }> {
  const { ctx, config } = model;
  const { n, maxNewTokens, sampling } = options;
  if (!prompts.length || prompts.some((p) => p.length === 0)) throw new Error('every prompt needs at least one token');
  if (n < 1 || maxNewTokens < 1) throw new Error('n and max new tokens must be at least 1');
  if (prompts.some((p) => p.some((id) => !Number.isInteger(id) || id < 0 || id >= model.config.vocabSize))) {
    throw new Error(`token ids must be integers below the vocabulary size ${model.config.vocabSize}`);
  }
  const B = prompts.length * n;
  const P = Math.max(...prompts.map((p) => p.length));
  const S = P + maxNewTokens;
  if (S > config.maxPositionEmbeddings) {
    throw new Error(`prompt (${P} tokens) + ${maxNewTokens} new tokens exceed the model's context of ${config.maxPositionEmbeddings}`);
  }
  const V = config.vocabSize;
  const C = config.hiddenSize;
  const rowPrompt = (b: number) => Math.floor(b / n);
  const validFrom = Uint32Array.from({ length: B }, (_, b) => P - prompts[rowPrompt(b)].length);
  const w = workspace.reserve({ B, P, S, L: B, R: lora?.adapter.rank ?? 0 });
  ctx.write(w.validFrom, validFrom);
  ctx.write(w.seeds, Uint32Array.from({ length: B }, (_, b) => sampling.seed + (b % n)));
  const sample = (step: number) => sampleForward(ctx, w.nextIds, w.logits, w.seeds, B, V, step, sampling.temperature, sampling.topK, sampling.topP);

  const samples: GeneratedSample[] = Array.from({ length: B }, (_, b) => ({
    prompt: rowPrompt(b),
    seed: sampling.seed + (b % n),
    ids: [],
    text: '',
    finishReason: 'length',
  }));
  const done = new Array<boolean>(B).fill(false);
  const stats: GenerationStats = {
    promptTokens: prompts.reduce((a, p) => a + p.length, 0),
    prefillSeconds: 0,
    decodeSeconds: 0,
    decodeSteps: 0,
    decodeDispatches: 0,
    decodeSubmits: 0,
    decodeTokens: 0,
  };

  const accept = (ids: Uint32Array, step: number) => {
    // The sampler marks a row whose logits hold NaN or Inf: nothing it could pick means anything.
    if (ids.some((id, b) => !done[b] && id === NON_FINITE_LOGITS)) throw new NonFiniteLogitsError(step);
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      const s = samples[b];
      s.ids.push(ids[b]);
      if (options.stopIds.includes(ids[b])) {
        s.text = options.decode(s.ids.slice(0, -1));
        s.finishReason = 'eos';
        done[b] = true;
      } else {
        s.text = options.decode(s.ids);
        const cut = firstStop(s.text, options.stopStrings);
        if (cut >= 0) {
          s.text = s.text.slice(0, cut);
          s.finishReason = 'stop';
          done[b] = true;
        } else if (s.ids.length >= maxNewTokens) {
          done[b] = true;
        }
      }
      options.onToken?.(b, ids[b], s.text);
    }
  };

  const prefillStart = performance.now();
  prompts.forEach((prompt, p) => {
    const len = prompt.length;
    ctx.write(w.ids, Uint32Array.from(prompt));
    ctx.write(w.positions, Uint32Array.from(prompt, (_, t) => t));
    ctx.write(w.promptValidFrom, Uint32Array.of(P - len));
    ctx.write(w.headRows, Uint32Array.of(len - 1));
    const pass = { B: 1, T: len, start: P - len, ids: w.ids, positions: w.positions, validFrom: w.promptValidFrom, headRows: w.headRows, M: 1 };
    forward(model, lora, w.acts, w.scratch, pass);
    for (let s = 0; s < n; s++) {
      const b = p * n + s;
      ctx.copy(w.acts.hidden, 0, w.lastHidden, b * C * 4, C * 4);
      copyKvRows(ctx, config, w.cache, b, w.scratch, 0, P - len, P);
    }
    // The queued writes above land before this submit; the next prompt's writes must wait for it.
    ctx.submit();
  });
  lmLogits(model, w.logits, w.lastHidden, B);
  sample(0);
  accept(await ctx.readU32(w.nextIds, B), 0);
  stats.prefillSeconds = (performance.now() - prefillStart) / 1000;

  const decodeStart = performance.now();
  const before = { ...ctx.stats };
  const firstTokens = samples.reduce((a, s) => a + s.ids.length, 0);
  for (let step = 1; step < maxNewTokens && !done.every(Boolean); step++) {
    if (options.isCancelled?.()) {
      samples.forEach((s, b) => !done[b] && (s.finishReason = 'cancelled'));
      break;
    }
    const slot = P + step - 1; // the slot of the token sampled last step
    ctx.write(w.positions, Uint32Array.from(validFrom, (v) => slot - v));
    forward(model, lora, w.acts, w.cache, { B, T: 1, start: slot, ids: w.nextIds, positions: w.positions, validFrom: w.validFrom, headRows: null, M: B });
    lmLogits(model, w.logits, w.acts.hidden, B);
    sample(step);
    accept(await ctx.readU32(w.nextIds, B), step);
    stats.decodeSteps++;
  }
  stats.decodeSeconds = (performance.now() - decodeStart) / 1000;
  stats.decodeTokens = samples.reduce((a, s) => a + s.ids.length, 0) - firstTokens;
  stats.decodeDispatches = ctx.stats.dispatches - before.dispatches;
  stats.decodeSubmits = ctx.stats.submits - before.submits;
  return { samples, stats };
}

/** Logits (T, V) of every position of one sequence. */
export async function sequenceLogits(model: ModelOnGpu, lora: GpuLora | null, workspace: InferenceWorkspace, ids: number[]): Promise<Float32Array> {
  const { ctx, config } = model;
  const T = ids.length;
  if (T === 0) throw new Error('logits need at least one token id');
  if (T > config.maxPositionEmbeddings) throw new Error(`${T} tokens exceed the model's context of ${config.maxPositionEmbeddings}`);
  if (ids.some((id) => id >= config.vocabSize)) throw new Error(`token ids must be below the vocabulary size ${config.vocabSize}`);
  const w = workspace.reserve({ B: 1, P: T, S: T, L: T, R: lora?.adapter.rank ?? 0 });
  ctx.write(w.ids, Uint32Array.from(ids));
  ctx.write(w.positions, Uint32Array.from(ids, (_, t) => t));
  ctx.write(w.promptValidFrom, Uint32Array.of(0));
  forward(model, lora, w.acts, w.scratch, { B: 1, T, start: 0, ids: w.ids, positions: w.positions, validFrom: w.promptValidFrom, headRows: null, M: T });
  lmLogits(model, w.logits, w.acts.hidden, T);
  return ctx.readF32(w.logits, T * config.vocabSize);
}

/**
 * The reward of each sequence under a reward model (an adapter with a score head): the sequences are right-padded
 * into one batch and each reward is read at its own last token, so padding changes nothing (attention is causal).
 */
export async function sequenceRewards(model: ModelOnGpu, lora: GpuLora, workspace: InferenceWorkspace, sequences: number[][]): Promise<Float32Array> {
  const { ctx, config } = model;
  if (!lora.score) throw new Error('This adapter has no score head, so it is not a reward model: train one on the Train page or load a SEQ_CLS adapter.');
  if (!sequences.length || sequences.some((s) => s.length === 0)) throw new Error('every sequence to score needs at least one token');
  if (sequences.some((s) => s.some((id) => !Number.isInteger(id) || id < 0 || id >= config.vocabSize))) {
    throw new Error(`token ids must be integers below the vocabulary size ${config.vocabSize}`);
  }
  const B = sequences.length;
  const T = Math.max(...sequences.map((s) => s.length));
  if (T > config.maxPositionEmbeddings) throw new Error(`${T} tokens exceed the model's context of ${config.maxPositionEmbeddings}`);
  const w = workspace.reserve({ B, P: B * T, S: T, L: B, R: lora.adapter.rank });
  const ids = new Uint32Array(B * T); // padding: id 0, after each sequence's last token, never read
  sequences.forEach((s, b) => ids.set(s, b * T));
  ctx.write(w.ids, ids);
  ctx.write(w.positions, Uint32Array.from({ length: B * T }, (_, i) => i % T));
  ctx.write(w.validFrom, new Uint32Array(B));
  ctx.write(w.headRows, Uint32Array.from(sequences, (s, b) => b * T + s.length - 1));
  forward(model, lora, w.acts, w.cache, { B, T, start: 0, ids: w.ids, positions: w.positions, validFrom: w.validFrom, headRows: w.headRows, M: B });
  rewardForward(ctx, w.rewards, w.acts.hidden, lora.score.param, B, config.hiddenSize);
  return ctx.readF32(w.rewards, B);
}

function firstStop(text: string, stops: string[]): number {
  let cut = -1;
  for (const stop of stops) {
    const i = stop ? text.indexOf(stop) : -1;
    if (i >= 0 && (cut < 0 || i < cut)) cut = i;
  }
  return cut;
}
