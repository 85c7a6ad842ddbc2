// The Llama forward pass over kernel wrappers, read top to bottom like the PyTorch module it mirrors.
// Dimension letters: B batch rows, T new tokens per row, S KV-cache slots per row, C hidden, H MLP hidden,
// NH query heads, NKV key/value heads, HS head dim, V vocab, L layers.
import type { GpuContext } from '../gpu/context';
import { attentionForward } from '../kernels/attention';
import { embeddingForward } from '../kernels/embedding';
import { matmulForward } from '../kernels/matmul';
import { residualForward } from '../kernels/residual';
import { rmsnormForward } from '../kernels/rmsnorm';
import { ropeForward } from '../kernels/rope';
import { swigluForward } from '../kernels/swiglu';
import { loraForward } from '../kernels/lora';
import type { GpuLora, LoraTarget } from './lora';
import type { GpuWeight } from '../gpu/context';
import type { ModelConfig } from './config';
import type { GpuModelWeights } from './weights';

/** Keys and values of every layer: k[l], v[l] are (B, S, NKV*HS). */
export interface KvCache {
  k: GPUBuffer[];
  v: GPUBuffer[];
  B: number;
  S: number;
}

/** Activation buffers for up to `rows` token rows, planned once and reused by every forward call. */
export interface Activations {
  rows: number;
  x: GPUBuffer; // (rows, C) residual stream
  xn: GPUBuffer; // (rows, C) normalized stream; after forward(), the final-norm hidden states
  q: GPUBuffer; // (rows, NH*HS)
  k: GPUBuffer; // (rows, NKV*HS)
  v: GPUBuffer; // (rows, NKV*HS)
  att: GPUBuffer; // (rows, NH*HS) attention output before o_proj
  proj: GPUBuffer; // (rows, C) o_proj / down_proj output
  gate: GPUBuffer; // (rows, H)
  up: GPUBuffer; // (rows, H)
  hidden: GPUBuffer; // (rows, H) silu(gate) * up
  loraU: GPUBuffer; // (rows, R) LoRA intermediate, reused by every adapted projection
}

export function planActivations(ctx: GpuContext, config: ModelConfig, rows: number, loraRank = 1): Activations {
  const { hiddenSize: C, intermediateSize: H, numHeads: NH, numKvHeads: NKV, headDim: HS } = config;
  const f32 = (n: number, label: string) => ctx.buffer(rows * n * 4, label);
  return {
    rows,
    x: f32(C, 'x'),
    xn: f32(C, 'xn'),
    q: f32(NH * HS, 'q'),
    k: f32(NKV * HS, 'k'),
    v: f32(NKV * HS, 'v'),
    att: f32(NH * HS, 'att'),
    proj: f32(C, 'proj'),
    gate: f32(H, 'gate'),
    up: f32(H, 'up'),
    hidden: f32(H, 'hidden'),
    loraU: f32(loraRank, 'lora u'),
  };
}

export function destroyActivations(acts: Activations): void {
  for (const value of Object.values(acts)) if (typeof value !== 'number') value.destroy();
}

export function createKvCache(ctx: GpuContext, config: ModelConfig, B: number, S: number): KvCache {
  const bytes = B * S * config.numKvHeads * config.headDim * 4;
  const make = (kind: string) => Array.from({ length: config.numLayers }, (_, l) => ctx.buffer(bytes, `${kind}cache ${l}`));
  return { k: make('k'), v: make('v'), B, S };
}

export function destroyKvCache(cache: KvCache): void {
  for (const buffer of [...cache.k, ...cache.v]) buffer.destroy();
}

/** Copies cache slots [from, to) of row `srcRow` in `src` into row `dstRow` of `dst`, for every layer. */
export function copyKvRows(ctx: GpuContext, config: ModelConfig, dst: KvCache, dstRow: number, src: KvCache, srcRow: number, from: number, to: number): void {
  const slot = config.numKvHeads * config.headDim * 4;
  for (let l = 0; l < config.numLayers; l++) {
    ctx.copy(src.k[l], (srcRow * src.S + from) * slot, dst.k[l], (dstRow * dst.S + from) * slot, (to - from) * slot);
    ctx.copy(src.v[l], (srcRow * src.S + from) * slot, dst.v[l], (dstRow * dst.S + from) * slot, (to - from) * slot);
  }
}

/**
 * Runs B rows of T new tokens through the transformer. Token t of row b sits in cache slot start+t and
 * attends slots [validFrom[b], start+t]. Leaves the final-norm hidden states (B*T, C) in acts.xn.
 */
export function forward(
  ctx: GpuContext,
  acts: Activations,
  weights: GpuModelWeights,
  lora: GpuLora | null,
  config: ModelConfig,
  cache: KvCache,
  ids: GPUBuffer, // u32 (B*T)
  positions: GPUBuffer, // u32 (B*T) RoPE positions
  validFrom: GPUBuffer, // u32 (B)
  B: number,
  T: number,
  start: number,
): void {
  const { hiddenSize: C, intermediateSize: H, numHeads: NH, numKvHeads: NKV, headDim: HS, rmsNormEps: eps } = config;
  const N = B * T;
  const KV = NKV * HS;
  if (N > acts.rows) throw new Error(`forward over ${N} rows exceeds the ${acts.rows} planned`);
  if (B !== cache.B || start + T > cache.S) throw new Error(`KV cache (${cache.B} x ${cache.S}) cannot hold ${B} x ${start + T}`);
  // out = inp @ W^T + b, plus scale * (inp @ A^T) @ B^T where an adapter targets this projection.
  const project = (out: GPUBuffer, inp: GPUBuffer, weight: GpuWeight, bias: GPUBuffer | null, l: number, target: LoraTarget, inF: number, outF: number) => {
    matmulForward(ctx, out, inp, weight, bias, N, inF, outF);
    const m = lora?.get(l, target);
    if (m) loraForward(ctx, out, acts.loraU, inp, m.A, m.B, lora!.scale, N, inF, lora!.adapter.rank, outF);
  };

  embeddingForward(ctx, acts.x, ids, weights.embed, N, C); // x = embed_tokens(input_ids)
  weights.layers.forEach((layer, l) => {
    // h = x + self_attn(input_layernorm(x))
    rmsnormForward(ctx, acts.xn, acts.x, layer.inputNorm, N, C, eps);
    project(acts.q, acts.xn, layer.q, layer.qBias, l, 'q_proj', C, NH * HS);
    project(acts.k, acts.xn, layer.k, layer.kBias, l, 'k_proj', C, KV);
    project(acts.v, acts.xn, layer.v, layer.vBias, l, 'v_proj', C, KV);
    ropeForward(ctx, acts.q, positions, N, NH, HS, config.ropeTheta);
    ropeForward(ctx, acts.k, positions, N, NKV, HS, config.ropeTheta);
    for (let b = 0; b < B; b++) {
      // The new keys and values of row b go to cache slots [start, start+T).
      ctx.copy(acts.k, b * T * KV * 4, cache.k[l], (b * cache.S + start) * KV * 4, T * KV * 4);
      ctx.copy(acts.v, b * T * KV * 4, cache.v[l], (b * cache.S + start) * KV * 4, T * KV * 4);
    }
    attentionForward(ctx, acts.att, acts.q, cache.k[l], cache.v[l], validFrom, B, T, NH, NKV, HS, cache.S, start);
    project(acts.proj, acts.att, layer.o, null, l, 'o_proj', NH * HS, C);
    residualForward(ctx, acts.x, acts.proj, N * C);
    // x = h + mlp(post_attention_layernorm(h)), mlp = down_proj(silu(gate_proj(x)) * up_proj(x))
    rmsnormForward(ctx, acts.xn, acts.x, layer.postNorm, N, C, eps);
    project(acts.gate, acts.xn, layer.gate, null, l, 'gate_proj', C, H);
    project(acts.up, acts.xn, layer.up, null, l, 'up_proj', C, H);
    swigluForward(ctx, acts.hidden, acts.gate, acts.up, N, H);
    project(acts.proj, acts.hidden, layer.down, null, l, 'down_proj', H, C);
    residualForward(ctx, acts.x, acts.proj, N * C);
  });
  rmsnormForward(ctx, acts.xn, acts.x, weights.finalNorm, N, C, eps); // norm(x)
}

/** logits (N, V) = hidden (N, C) @ lm_head^T. */
export function lmHead(ctx: GpuContext, logits: GPUBuffer, hidden: GPUBuffer, weights: GpuModelWeights, config: ModelConfig, N: number): void {
  matmulForward(ctx, logits, hidden, weights.lmHead, null, N, config.hiddenSize, config.vocabSize);
}
