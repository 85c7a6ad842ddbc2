// The Llama forward pass over kernel wrappers, read top to bottom like the PyTorch module it mirrors. It is the
// ONE layer walk: inference (KV cache, activations shared by every layer) and training (each layer's activations
// kept for backward.ts, or only each layer's input when backward recomputes the rest) call the same function and
// differ only in the buffers they hand it.
// Dimension letters: B batch rows, T new tokens per row, N = B*T, S KV-cache slots per row, C hidden, H MLP hidden,
// NH query heads, NKV key/value heads, HS head dim, M head rows, R LoRA rank, L layers.
import type { GpuContext, GpuWeight } from '../gpu/context';
import { attentionForward } from '../kernels/attention';
import { embeddingForward } from '../kernels/embedding';
import { loraForward } from '../kernels/lora';
import { matmulForward } from '../kernels/matmul';
import { rmsnormForward } from '../kernels/rmsnorm';
import { ropeForward } from '../kernels/rope';
import { swigluForward } from '../kernels/swiglu';
import type { ModelConfig } from './config';
import { loraTargets, type GpuLora, type LoraTarget } from './lora';
import type { Make } from './memory';
import type { GpuModelWeights } from './weights';

/** The model on one GPU: what every pass over it needs. */
export interface ModelOnGpu {
  ctx: GpuContext;
  config: ModelConfig;
  weights: GpuModelWeights;
}

/** Keys and values of every layer: k[l], v[l] are (B, S, NKV*HS). B and S are capacities; calls may use less. */
export interface KvCache<Buf = GPUBuffer> {
  k: Buf[];
  v: Buf[];
  B: number;
  S: number;
}

/** What one layer writes. Training keeps one set per layer for the backward pass; inference shares one set. */
export interface LayerActivations<Buf = GPUBuffer> {
  xIn: Buf; // (N, C) residual stream entering the layer
  xn1: Buf; // (N, C) input_layernorm output
  q: Buf; // (N, NH*HS) after RoPE
  k: Buf; // (N, NKV*HS) after RoPE
  v: Buf; // (N, NKV*HS)
  att: Buf; // (N, NH*HS) attention output before o_proj
  xMid: Buf; // (N, C) stream after the attention residual (inference: the same buffer as xIn)
  xn2: Buf; // (N, C) post_attention_layernorm output
  gate: Buf; // (N, H)
  up: Buf; // (N, H)
  mlp: Buf; // (N, H) silu(gate) * up
  u: Map<LoraTarget, Buf>; // (N, R) LoRA intermediates of the adapted modules
}

export interface Activations<Buf = GPUBuffer> {
  N: number; // token rows planned
  M: number; // head rows planned
  layers: LayerActivations<Buf>[]; // (L)
  /**
   * Gradient checkpointing: the layers keep only their own xIn and share every other buffer, so backward.ts
   * recomputes each layer's activations from its input before backpropagating through it.
   */
  recompute: boolean;
  proj: Buf; // (N, C) down_proj's output when backward recomputes a layer for its LoRA intermediate (scratch)
  xOut: Buf; // (N, C) stream after the last layer
  headIn: Buf; // (M, C) xOut at the head rows
  hidden: Buf; // (M, C) final-norm hidden states: what the head reads
}

/**
 * Activations for N token rows and M head rows. `training` keeps every layer's activations (and LoRA
 * intermediates of `lora`'s modules), or with `recompute` only every layer's input and one set for the rest;
 * inference gives all layers one set, with one LoRA intermediate of rank R.
 */
export function layoutActivations<Buf>(
  make: Make<Buf>,
  config: ModelConfig,
  N: number,
  M: number,
  lora: { rank: number; targets: readonly LoraTarget[] } | null,
  training: boolean,
  recompute = false,
): Activations<Buf> {
  const { hiddenSize: C, intermediateSize: H, numHeads: NH, numKvHeads: NKV, headDim: HS } = config;
  const f32 = (label: string, width: number, rows = N) => make('activations', label, rows * width * 4);
  const layer = (l: number | 'shared', stream: Buf | null): LayerActivations<Buf> => {
    const xIn = stream ?? f32(`x ${l === 'shared' ? 0 : l}`, C);
    const xn1 = f32(`xn1 ${l}`, C);
    const u = new Map<LoraTarget, Buf>();
    if (lora) {
      const shared = training ? null : f32('lora u', lora.rank);
      for (const target of loraTargets.filter((t) => lora.targets.includes(t))) u.set(target, shared ?? f32(`lora u ${l} ${target}`, lora.rank));
    }
    return {
      xIn,
      xn1,
      q: f32(`q ${l}`, NH * HS),
      k: f32(`k ${l}`, NKV * HS),
      v: f32(`v ${l}`, NKV * HS),
      att: f32(`att ${l}`, NH * HS),
      xMid: stream ?? f32(`xMid ${l}`, C),
      xn2: stream === null ? f32(`xn2 ${l}`, C) : xn1,
      gate: f32(`gate ${l}`, H),
      up: f32(`up ${l}`, H),
      mlp: f32(`mlp ${l}`, H),
      u,
    };
  };
  const L = config.numLayers;
  let layers: LayerActivations<Buf>[];
  let xOut: Buf;
  if (training && recompute) {
    const shared = layer('shared', null);
    layers = Array.from({ length: L }, (_, l) => (l === 0 ? shared : { ...shared, xIn: f32(`x ${l}`, C) }));
    xOut = f32('x out', C);
  } else if (training) {
    layers = Array.from({ length: L }, (_, l) => layer(l, null));
    xOut = f32('x out', C);
  } else {
    xOut = f32('x', C);
    const shared = layer(0, xOut);
    layers = Array.from({ length: L }, () => shared);
  }
  return { N, M, layers, recompute: training && recompute, xOut, proj: f32('proj', C), headIn: f32('head in', C, M), hidden: f32('hidden', C, M) };
}

export function layoutKvCache<Buf>(make: Make<Buf>, config: ModelConfig, B: number, S: number, label = 'kv'): KvCache<Buf> {
  const bytes = B * S * config.numKvHeads * config.headDim * 4;
  const per = (kind: string) => Array.from({ length: config.numLayers }, (_, l) => make('kv cache', `${label} ${kind} ${l}`, bytes));
  return { k: per('k'), v: per('v'), B, S };
}

/** The cache of a training pass: each layer's own keys and values (S = T, start 0), which backward reads too. */
export function selfCache(acts: Activations, B: number, T: number): KvCache {
  return { k: acts.layers.map((s) => s.k), v: acts.layers.map((s) => s.v), B, S: T };
}

/** Copies cache slots [from, to) of row `srcRow` in `src` into row `dstRow` of `dst`, for every layer. */
export function copyKvRows(ctx: GpuContext, config: ModelConfig, dst: KvCache, dstRow: number, src: KvCache, srcRow: number, from: number, to: number): void {
  const slot = config.numKvHeads * config.headDim * 4;
  for (let l = 0; l < config.numLayers; l++) {
    ctx.copy(src.k[l], (srcRow * src.S + from) * slot, dst.k[l], (dstRow * dst.S + from) * slot, (to - from) * slot);
    ctx.copy(src.v[l], (srcRow * src.S + from) * slot, dst.v[l], (dstRow * dst.S + from) * slot, (to - from) * slot);
  }
}

/** The token inputs of one pass. */
export interface PassInputs {
  B: number;
  T: number;
  /** Cache slot of each row's first new token. */
  start: number;
  ids: GPUBuffer; // u32 (B*T)
  positions: GPUBuffer; // u32 (B*T) RoPE positions
  validFrom: GPUBuffer; // u32 (B): row b attends cache slots [validFrom[b], start+t]
  /** The M token rows (of B*T) the head reads, or null for all of them (M = B*T). */
  headRows: GPUBuffer | null; // u32 (M)
  M: number;
}

/** LoRA dropout of a training pass; inference passes none. */
export interface Dropout {
  p: number;
  seed: number;
}

/**
 * Runs B rows of T new tokens through the transformer: token t of row b sits in cache slot start+t. Leaves the
 * final-norm hidden states of the head rows in acts.hidden (M, C).
 */
export function forward(model: ModelOnGpu, lora: GpuLora | null, acts: Activations, cache: KvCache, inp: PassInputs, dropout: Dropout | null = null): void {
  const { ctx, config, weights } = model;
  const { hiddenSize: C, rmsNormEps: eps } = config;
  const { B, T, start, M } = inp;
  const N = B * T;
  if (N > acts.N || M > acts.M) throw new Error(`a pass over ${N} tokens and ${M} head rows exceeds the ${acts.N} and ${acts.M} planned`);
  if (B > cache.B || start + T > cache.S) throw new Error(`KV cache (${cache.B} x ${cache.S}) cannot hold ${B} x ${start + T}`);

  embeddingForward(ctx, acts.layers[0].xIn, inp.ids, weights.embed, N, C); // x = embed_tokens(input_ids)
  for (let l = 0; l < config.numLayers; l++) {
    layerForward(model, lora, acts, cache, inp, dropout, l, l + 1 < config.numLayers ? acts.layers[l + 1].xIn : acts.xOut);
  }
  // The head reads only its rows (the trained positions, each sequence's last token...): gathering rows is what
  // the embedding kernel does.
  const headIn = inp.headRows ? acts.headIn : acts.xOut;
  if (inp.headRows) embeddingForward(ctx, acts.headIn, inp.headRows, { buffer: acts.xOut, dtype: 'f32' }, M, C);
  rmsnormForward(ctx, acts.hidden, headIn, weights.finalNorm, M, C, eps); // norm(x)
}

/**
 * Decoder layer l over acts.layers[l].xIn: writes the layer's activations, and the stream it passes on into
 * `next`. With `next` null (backward's recomputation) it writes only what backward reads.
 */
export function layerForward(model: ModelOnGpu, lora: GpuLora | null, acts: Activations, cache: KvCache, inp: PassInputs, dropout: Dropout | null, l: number, next: GPUBuffer | null): void {
  const { ctx, config } = model;
  const { hiddenSize: C, intermediateSize: H, numHeads: NH, numKvHeads: NKV, headDim: HS, rmsNormEps: eps } = config;
  const { B, T, start } = inp;
  const N = B * T;
  const KV = NKV * HS;
  const w = model.weights.layers[l];
  const s = acts.layers[l];
  // out = inp @ W^T + b, plus scale * (dropout(inp) @ A^T) @ B^T where an adapter targets this projection; with
  // `accumulate` all of it is added to out (the residual stream) instead.
  const project = (out: GPUBuffer, x: GPUBuffer, weight: GpuWeight, bias: GPUBuffer | null, target: LoraTarget, inF: number, outF: number, accumulate = false) => {
    matmulForward(ctx, out, x, weight, bias, N, inF, outF, accumulate);
    const m = lora?.get(l, target);
    if (!m) return;
    const u = s.u.get(target);
    if (!u) throw new Error(`no LoRA intermediate planned for layer ${l} ${target}`);
    loraForward(ctx, out, u, x, m.A, m.B, lora!.scale, N, inF, lora!.adapter.rank, outF, dropout?.p ?? 0, dropout ? moduleSeed(dropout.seed, l, target) : 0);
  };

  // h = x + self_attn(input_layernorm(x))
  rmsnormForward(ctx, s.xn1, s.xIn, w.inputNorm, N, C, eps);
  project(s.q, s.xn1, w.q, w.qBias, 'q_proj', C, NH * HS);
  project(s.k, s.xn1, w.k, w.kBias, 'k_proj', C, KV);
  project(s.v, s.xn1, w.v, w.vBias, 'v_proj', C, KV);
  ropeForward(ctx, s.q, inp.positions, N, NH, HS, config.ropeTheta);
  ropeForward(ctx, s.k, inp.positions, N, NKV, HS, config.ropeTheta);
  if (cache.k[l] !== s.k) {
    // The new keys and values of row b go to cache slots [start, start+T).
    for (let b = 0; b < B; b++) {
      ctx.copy(s.k, b * T * KV * 4, cache.k[l], (b * cache.S + start) * KV * 4, T * KV * 4);
      ctx.copy(s.v, b * T * KV * 4, cache.v[l], (b * cache.S + start) * KV * 4, T * KV * 4);
    }
  }
  attentionForward(ctx, s.att, s.q, cache.k[l], cache.v[l], inp.validFrom, B, T, NH, NKV, HS, cache.S, start);
  project(streamFrom(ctx, s.xMid, s.xIn, N * C), s.att, w.o, null, 'o_proj', NH * HS, C, true);
  // x = h + mlp(post_attention_layernorm(h)), mlp = down_proj(silu(gate_proj(x)) * up_proj(x))
  rmsnormForward(ctx, s.xn2, s.xMid, w.postNorm, N, C, eps);
  project(s.gate, s.xn2, w.gate, null, 'gate_proj', C, H);
  project(s.up, s.xn2, w.up, null, 'up_proj', C, H);
  swigluForward(ctx, s.mlp, s.gate, s.up, N, H);
  if (next) project(streamFrom(ctx, next, s.xMid, N * C), s.mlp, w.down, null, 'down_proj', H, C, true);
  // Backward reads nothing of down_proj's output, only its LoRA intermediate: acts.proj is scratch.
  else if (lora?.get(l, 'down_proj')) project(acts.proj, s.mlp, w.down, null, 'down_proj', H, C);
}

/** `out` holding the stream `x`, for a projection to add to: x itself in inference, a copy in training (which keeps x). */
function streamFrom(ctx: GpuContext, out: GPUBuffer, x: GPUBuffer, count: number): GPUBuffer {
  if (out !== x) ctx.copy(x, 0, out, 0, count * 4);
  return out;
}

/** A distinct dropout seed per (pass seed, layer, module). */
export function moduleSeed(seed: number, layer: number, target: LoraTarget): number {
  return (seed ^ Math.imul(layer + 1, 0x9e3779b1) ^ Math.imul(loraTargets.indexOf(target) + 1, 0x85ebca6b)) >>> 0;
}
