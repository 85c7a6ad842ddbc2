// Batched generation: each distinct prompt is prefilled once into a scratch KV cache and copied into the
// rows of its samples; then every step decodes all rows together in one pass and one queue submit.
// Prompts of different lengths are right-aligned in the cache: row b's prompt fills slots
// [validFrom[b], P) where P is the longest prompt, so all rows decode the same slot each step.
import type { GpuContext } from '../gpu/context';
import { sampleForward } from '../kernels/sample';
import type { ModelConfig } from './config';
import {
  type Activations,
  copyKvRows,
  createKvCache,
  destroyActivations,
  destroyKvCache,
  forward,
  lmHead,
  planActivations,
} from './forward';
import type { GpuLora } from './lora';
import type { GpuModelWeights } from './weights';

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

export interface ModelOnGpu {
  ctx: GpuContext;
  config: ModelConfig;
  weights: GpuModelWeights;
  /** An adapter applied on top of the frozen weights, if any. */
  lora: GpuLora | null;
}

export async function generate(
  model: ModelOnGpu,
  prompts: number[][],
  options: GenerationOptions,
): Promise<{ samples: GeneratedSample[]; stats: GenerationStats }> {
  const { ctx, config, weights, lora } = model;
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

  const acts: Activations = planActivations(ctx, config, Math.max(P, B), lora?.adapter.rank);
  const cache = createKvCache(ctx, config, B, S);
  const scratch = createKvCache(ctx, config, 1, S);
  const owned = [
    ctx.buffer(P * 4, 'prompt ids'), // u32 (P)
    ctx.buffer(P * 4, 'prompt positions'), // u32 (P)
    ctx.buffer(4, 'prompt validFrom'), // u32 (1)
    ctx.upload(validFrom, 'validFrom'), // u32 (B)
    ctx.buffer(B * C * 4, 'last hidden'), // (B, C)
    ctx.buffer(B * V * 4, 'logits'), // (B, V)
    ctx.buffer(B * 4, 'next ids'), // u32 (B): sampled ids, the next step's input
    ctx.buffer(B * 4, 'positions'), // u32 (B)
    ctx.upload(Uint32Array.from({ length: B }, (_, b) => sampling.seed + (b % n)), 'seeds'), // u32 (B)
  ];
  const [promptIds, promptPositions, promptValidFrom, validFromGpu, lastHidden, logits, nextIds, positions, seeds] = owned;
  const sample = (step: number) =>
    sampleForward(ctx, nextIds, logits, seeds, B, V, step, sampling.temperature, sampling.topK, sampling.topP);

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

  const accept = (ids: Uint32Array) => {
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

  try {
    const prefillStart = performance.now();
    prompts.forEach((prompt, p) => {
      const len = prompt.length;
      ctx.write(promptIds, Uint32Array.from(prompt));
      ctx.write(promptPositions, Uint32Array.from(prompt, (_, t) => t));
      ctx.write(promptValidFrom, Uint32Array.of(P - len));
      forward(ctx, acts, weights, lora, config, scratch, promptIds, promptPositions, promptValidFrom, 1, len, P - len);
      for (let s = 0; s < n; s++) {
        const b = p * n + s;
        ctx.copy(acts.xn, (len - 1) * C * 4, lastHidden, b * C * 4, C * 4);
        copyKvRows(ctx, config, cache, b, scratch, 0, P - len, P);
      }
      // The queued writes above land before this submit; the next prompt's writes must wait for it.
      ctx.submit();
    });
    lmHead(ctx, logits, lastHidden, weights, config, B);
    sample(0);
    accept(await ctx.readU32(nextIds, B));
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
      ctx.write(positions, Uint32Array.from(validFrom, (v) => slot - v));
      forward(ctx, acts, weights, lora, config, cache, nextIds, positions, validFromGpu, B, 1, slot);
      lmHead(ctx, logits, acts.xn, weights, config, B);
      sample(step);
      accept(await ctx.readU32(nextIds, B));
      stats.decodeSteps++;
    }
    stats.decodeSeconds = (performance.now() - decodeStart) / 1000;
    stats.decodeTokens = samples.reduce((a, s) => a + s.ids.length, 0) - firstTokens;
    stats.decodeDispatches = ctx.stats.dispatches - before.dispatches;
    stats.decodeSubmits = ctx.stats.submits - before.submits;
  } finally {
    destroyActivations(acts);
    destroyKvCache(cache);
    destroyKvCache(scratch);
    for (const buffer of owned) buffer.destroy();
  }
  return { samples, stats };
}

/** Logits (T, V) of every position of one sequence. */
export async function sequenceLogits(model: ModelOnGpu, ids: number[]): Promise<Float32Array> {
  const { ctx, config, weights, lora } = model;
  const T = ids.length;
  if (T === 0) throw new Error('logits need at least one token id');
  if (T > config.maxPositionEmbeddings) throw new Error(`${T} tokens exceed the model's context of ${config.maxPositionEmbeddings}`);
  if (ids.some((id) => id >= config.vocabSize)) throw new Error(`token ids must be below the vocabulary size ${config.vocabSize}`);
  const acts = planActivations(ctx, config, T, lora?.adapter.rank);
  const cache = createKvCache(ctx, config, 1, T);
  const owned = [
    ctx.upload(Uint32Array.from(ids), 'ids'),
    ctx.upload(Uint32Array.from(ids, (_, t) => t), 'positions'),
    ctx.upload(Uint32Array.of(0), 'validFrom'),
    ctx.buffer(T * config.vocabSize * 4, 'logits'),
  ];
  const [idsGpu, positions, validFrom, logits] = owned;
  try {
    forward(ctx, acts, weights, lora, config, cache, idsGpu, positions, validFrom, 1, T, 0);
    lmHead(ctx, logits, acts.xn, weights, config, T);
    return await ctx.readF32(logits, T * config.vocabSize);
  } finally {
    destroyActivations(acts);
    destroyKvCache(cache);
    for (const buffer of owned) buffer.destroy();
  }
}

function firstStop(text: string, stops: string[]): number {
  let cut = -1;
  for (const stop of stops) {
    const i = stop ? text.indexOf(stop) : -1;
    if (i >= 0 && (cut < 0 || i < cut)) cut = i;
  }
  return cut;
}
