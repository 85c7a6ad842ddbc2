// The LoRA training step on the GPU: forward with saved activations, masked cross-entropy, backward through
// every layer into the LoRA gradients, global-norm clipping and AdamW, all recorded into ONE submit.
// Nothing is read back inside a step except, when asked, the per-token losses.
// Only the trained positions (target != -100) go through the final norm, the LM head and the loss: with
// response-only labels most of a row is prompt, and the head is the step's widest matmul (V columns).
// Dimension letters: B rows, T tokens per row, N = B*T, C hidden, H MLP hidden, NH/NKV heads, HS head dim,
// M trained positions of a micro-batch (M <= N), V vocab, R LoRA rank.
import type { GpuWeight } from '../gpu/context';
import { adamwStep, globalNormSquared } from '../kernels/adamw';
import { attentionForward } from '../kernels/attention';
import { attentionBackward } from '../kernels/attention_backward';
import { crossentropyBackward, crossentropyForward } from '../kernels/crossentropy';
import { embeddingForward } from '../kernels/embedding';
import { loraBackward, loraForward } from '../kernels/lora';
import { matmulForward } from '../kernels/matmul';
import { matmulBackwardInput } from '../kernels/matmul_backward';
import { residualForward } from '../kernels/residual';
import { rmsnormForward } from '../kernels/rmsnorm';
import { rmsnormBackward } from '../kernels/rmsnorm_backward';
import { ropeForward } from '../kernels/rope';
import { ropeBackward } from '../kernels/rope_backward';
import { scatterRows } from '../kernels/scatter';
import { swigluForward } from '../kernels/swiglu';
import { swigluBackward } from '../kernels/swiglu_backward';
import type { ModelOnGpu } from '../model/generate';
import type { LayerWeights } from '../model/weights';
import { loraTargets, type GpuLora, type LoraTarget } from '../model/lora';
import { IGNORE_INDEX, type Batch } from './data';

export interface OptimizerSettings {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global gradient-norm clip; 0 turns clipping off. */
  maxGradNorm: number;
}

/** Activations one layer keeps for its backward pass, each (N, ·). */
interface SavedLayer {
  xIn: GPUBuffer; // (N, C) residual stream entering the layer
  xn1: GPUBuffer; // (N, C) input_layernorm output
  q: GPUBuffer; // (N, NH*HS) after RoPE
  k: GPUBuffer; // (N, NKV*HS) after RoPE
  v: GPUBuffer; // (N, NKV*HS)
  att: GPUBuffer; // (N, NH*HS) attention output
  xMid: GPUBuffer; // (N, C) stream after the attention residual
  xn2: GPUBuffer; // (N, C) post_attention_layernorm output
  gate: GPUBuffer; // (N, H)
  up: GPUBuffer; // (N, H)
  hidden: GPUBuffer; // (N, H) silu(gate) * up
  u: Map<LoraTarget, GPUBuffer>; // (N, R) LoRA intermediates of this layer's modules
}

/** Inputs of one micro-batch; each micro-batch of a step has its own so all can share one submit. */
interface BatchInputs {
  ids: GPUBuffer; // u32 (N)
  rows: GPUBuffer; // u32 (M) the trained positions, ascending
  targets: GPUBuffer; // i32 (M) the (already shifted) target at each trained position
  positions: GPUBuffer; // u32 (N) = t of each token
}

export class SftStepper {
  private readonly N: number;
  private readonly saved: SavedLayer[];
  private readonly xFinal: GPUBuffer; // (N, C) stream after the last layer
  private readonly headIn: GPUBuffer; // (M, C) xFinal at the trained positions
  private readonly xnFinal: GPUBuffer; // (M, C) final norm of headIn
  private readonly logits: GPUBuffer; // (M, V)
  private readonly dlogits: GPUBuffer; // (M, V)
  private readonly losses: GPUBuffer; // (M)
  private readonly lossLog: GPUBuffer; // (G, N) losses of every micro-batch of the step
  private readonly validFrom: GPUBuffer; // u32 (maxB) zeros: no left padding in training
  private readonly normSq: GPUBuffer; // (1) squared global gradient norm
  private readonly scratch: Record<'proj' | 'dx' | 'dxn' | 'dheadIn' | 'dq' | 'dk' | 'dv' | 'datt' | 'dgate' | 'dup' | 'dhidden' | 'du' | 'stats', GPUBuffer>;
  private readonly inputs: BatchInputs[] = [];
  private readonly owned: GPUBuffer[] = [];

  /** Plans buffers for micro-batches of up to `maxTokens` = B*T tokens and `maxMicroBatches` per step. */
  constructor(
    private readonly model: ModelOnGpu,
    private readonly lora: GpuLora,
    maxTokens: number,
    private readonly maxMicroBatches: number,
  ) {
    const { ctx, config } = model;
    const { hiddenSize: C, intermediateSize: H, numHeads: NH, numKvHeads: NKV, headDim: HS, vocabSize: V } = config;
    const N = (this.N = maxTokens);
    const R = lora.adapter.rank;
    const f32 = (n: number, label: string) => {
      const buffer = ctx.buffer(N * n * 4, label);
      this.owned.push(buffer);
      return buffer;
    };
    this.saved = Array.from({ length: config.numLayers }, () => ({
      xIn: f32(C, 'xIn'),
      xn1: f32(C, 'xn1'),
      q: f32(NH * HS, 'q'),
      k: f32(NKV * HS, 'k'),
      v: f32(NKV * HS, 'v'),
      att: f32(NH * HS, 'att'),
      xMid: f32(C, 'xMid'),
      xn2: f32(C, 'xn2'),
      gate: f32(H, 'gate'),
      up: f32(H, 'up'),
      hidden: f32(H, 'hidden'),
      u: new Map(),
    }));
    for (const m of lora.modules) this.saved[m.layer].u.set(m.target, f32(R, `u ${m.layer} ${m.target}`));
    this.xFinal = f32(C, 'xFinal');
    this.headIn = f32(C, 'headIn');
    this.xnFinal = f32(C, 'xnFinal');
    this.logits = f32(V, 'logits');
    this.dlogits = f32(V, 'dlogits');
    this.losses = f32(1, 'losses');
    this.lossLog = f32(maxMicroBatches, 'loss log');
    this.validFrom = f32(1, 'validFrom');
    this.normSq = f32(1, 'grad norm squared');
    this.scratch = {
      proj: f32(C, 'proj'),
      dx: f32(C, 'dx'),
      dxn: f32(C, 'dxn'),
      dheadIn: f32(C, 'dheadIn'),
      dq: f32(NH * HS, 'dq'),
      dk: f32(NKV * HS, 'dk'),
      dv: f32(NKV * HS, 'dv'),
      datt: f32(NH * HS, 'datt'),
      dgate: f32(H, 'dgate'),
      dup: f32(H, 'dup'),
      dhidden: f32(H, 'dhidden'),
      du: f32(R, 'du'),
      stats: f32(NH * 2, 'attention stats'),
    };
    for (let g = 0; g < maxMicroBatches; g++) this.inputs.push({ ids: f32(1, 'ids'), rows: f32(1, 'trained rows'), targets: f32(1, 'targets'), positions: f32(1, 'positions') });
  }

  /**
   * One optimizer step over `microBatches` (gradient accumulation): loss = mean over every trained token of
   * the step. `step` counts optimizer steps from 1. With `readLoss`, resolves to that mean loss, else null.
   */
  async step(microBatches: Batch[], lr: number, step: number, opt: OptimizerSettings, dropoutSeed: number, readLoss: boolean): Promise<number | null> {
    const trained = this.record(microBatches, { backward: true, dropoutSeed: dropoutSeed });
    this.optimizerStep(lr, step, opt);
    return this.finish(microBatches, trained, readLoss);
  }

  /** Mean loss over the trained tokens of `batches` with no update (validation). */
  async evalLoss(batches: Batch[]): Promise<number> {
    let sum = 0;
    let tokens = 0;
    for (let i = 0; i < batches.length; i += this.maxMicroBatches) {
      const group = batches.slice(i, i + this.maxMicroBatches);
      const trained = this.record(group, { backward: false, dropoutSeed: 0 });
      const mean = await this.finish(group, trained, true);
      sum += mean! * trained;
      tokens += trained;
    }
    return tokens ? sum / tokens : NaN;
  }

  /** Loss and LoRA gradients (left in the adapter's d buffers) of micro-batches, no dropout, no update. */
  async gradients(batches: Batch[]): Promise<number> {
    const trained = this.record(batches, { backward: true, dropoutSeed: 0, dropout: 0 });
    return (await this.finish(batches, trained, true))!;
  }

  destroy(): void {
    for (const buffer of this.owned) buffer.destroy();
  }

  private record(batches: Batch[], options: { backward: boolean; dropoutSeed: number; dropout?: number }): number {
    const { ctx } = this.model;
    if (batches.length > this.maxMicroBatches) throw new Error(`${batches.length} micro-batches exceed the ${this.maxMicroBatches} planned`);
    const trained = batches.reduce((a, b) => a + b.trainedTokens, 0);
    if (options.backward) this.lora.clearGradients();
    batches.forEach((batch, g) => {
      if (batch.B * batch.T > this.N) throw new Error(`a batch of ${batch.B} x ${batch.T} tokens exceeds the ${this.N} planned`);
      // A micro-batch with nothing to train adds no loss and no gradient.
      if (batch.trainedTokens === 0) return;
      const inputs = this.inputs[g];
      const rows = trainedRows(batch.targets);
      const M = rows.length;
      ctx.write(inputs.ids, batch.inputIds);
      ctx.write(inputs.rows, rows);
      ctx.write(inputs.targets, Int32Array.from(rows, (r) => batch.targets[r]));
      ctx.write(inputs.positions, Uint32Array.from({ length: batch.B * batch.T }, (_, i) => i % batch.T));
      const dropout = options.dropout ?? (options.backward ? this.lora.adapter.dropout : 0);
      const seed = (options.dropoutSeed * 7919 + g * 104729) >>> 0;
      this.forward(inputs, batch.B, batch.T, M, dropout, seed);
      crossentropyForward(ctx, this.losses, this.logits, inputs.targets, M, this.model.config.vocabSize);
      ctx.copy(this.losses, 0, this.lossLog, g * this.N * 4, M * 4);
      if (options.backward) {
        crossentropyBackward(ctx, this.dlogits, this.logits, inputs.targets, 1 / Math.max(trained, 1), M, this.model.config.vocabSize);
        this.backward(inputs, batch.B, batch.T, M, dropout, seed);
      }
    });
    return trained;
  }

  private async finish(batches: Batch[], trained: number, readLoss: boolean): Promise<number | null> {
    const { ctx } = this.model;
    if (!readLoss) {
      ctx.submit();
      return null;
    }
    const log = await ctx.readF32(this.lossLog, batches.length * this.N);
    let sum = 0;
    batches.forEach((batch, g) => {
      for (let i = 0; i < batch.trainedTokens; i++) sum += log[g * this.N + i];
    });
    return sum / Math.max(trained, 1);
  }

  /** base projection plus, when the module is adapted, its LoRA term (saving u for backward). */
  private project(out: GPUBuffer, inp: GPUBuffer, weight: GpuWeight, bias: GPUBuffer | null, layer: number, target: LoraTarget, N: number, C: number, OC: number, dropout: number, seed: number): void {
    const { ctx } = this.model;
    matmulForward(ctx, out, inp, weight, bias, N, C, OC);
    const m = this.lora.get(layer, target);
    if (m) loraForward(ctx, out, this.saved[layer].u.get(target)!, inp, m.A, m.B, this.lora.scale, N, C, this.lora.adapter.rank, OC, dropout, moduleSeed(seed, layer, target));
  }

  /** dinp += dout @ W, plus the LoRA module's backward (its dA, dB accumulate). */
  private projectBackward(dinp: GPUBuffer, dout: GPUBuffer, inp: GPUBuffer, weight: GpuWeight, layer: number, target: LoraTarget, N: number, C: number, OC: number, dropout: number, seed: number): void {
    const { ctx } = this.model;
    matmulBackwardInput(ctx, dinp, dout, weight, N, C, OC);
    const m = this.lora.get(layer, target);
    if (m) {
      loraBackward(ctx, dinp, m.dA, m.dB, this.scratch.du, dout, inp, this.saved[layer].u.get(target)!, m.A, m.B, this.lora.scale, N, C, this.lora.adapter.rank, OC, dropout, moduleSeed(seed, layer, target));
    }
  }

  private forward(inputs: BatchInputs, B: number, T: number, M: number, dropout: number, seed: number): void {
    const { ctx, config, weights } = this.model;
    const { hiddenSize: C, intermediateSize: H, numHeads: NH, numKvHeads: NKV, headDim: HS, rmsNormEps: eps } = config;
    const N = B * T;
    const KV = NKV * HS;
    embeddingForward(ctx, this.saved[0].xIn, inputs.ids, weights.embed, N, C);
    weights.layers.forEach((w: LayerWeights, l) => {
      const s = this.saved[l];
      const next = l + 1 < config.numLayers ? this.saved[l + 1].xIn : this.xFinal;
      rmsnormForward(ctx, s.xn1, s.xIn, w.inputNorm, N, C, eps);
      this.project(s.q, s.xn1, w.q, w.qBias, l, 'q_proj', N, C, NH * HS, dropout, seed);
      this.project(s.k, s.xn1, w.k, w.kBias, l, 'k_proj', N, C, KV, dropout, seed);
      this.project(s.v, s.xn1, w.v, w.vBias, l, 'v_proj', N, C, KV, dropout, seed);
      ropeForward(ctx, s.q, inputs.positions, N, NH, HS, config.ropeTheta);
      ropeForward(ctx, s.k, inputs.positions, N, NKV, HS, config.ropeTheta);
      // Full causal self-attention: the sequence's own keys are the "cache", S = T, start 0.
      attentionForward(ctx, s.att, s.q, s.k, s.v, this.validFrom, B, T, NH, NKV, HS, T, 0);
      this.project(this.scratch.proj, s.att, w.o, null, l, 'o_proj', N, NH * HS, C, dropout, seed);
      ctx.copy(s.xIn, 0, s.xMid, 0, N * C * 4);
      residualForward(ctx, s.xMid, this.scratch.proj, N * C);
      rmsnormForward(ctx, s.xn2, s.xMid, w.postNorm, N, C, eps);
      this.project(s.gate, s.xn2, w.gate, null, l, 'gate_proj', N, C, H, dropout, seed);
      this.project(s.up, s.xn2, w.up, null, l, 'up_proj', N, C, H, dropout, seed);
      swigluForward(ctx, s.hidden, s.gate, s.up, N, H);
      this.project(this.scratch.proj, s.hidden, w.down, null, l, 'down_proj', N, H, C, dropout, seed);
      ctx.copy(s.xMid, 0, next, 0, N * C * 4);
      residualForward(ctx, next, this.scratch.proj, N * C);
    });
    // The head sees the trained positions only; gathering rows is what the embedding kernel does.
    embeddingForward(ctx, this.headIn, inputs.rows, { buffer: this.xFinal, dtype: 'f32' }, M, C);
    rmsnormForward(ctx, this.xnFinal, this.headIn, weights.finalNorm, M, C, eps);
    matmulForward(ctx, this.logits, this.xnFinal, weights.lmHead, null, M, C, config.vocabSize);
  }

  private backward(inputs: BatchInputs, B: number, T: number, M: number, dropout: number, seed: number): void {
    const { ctx, config, weights } = this.model;
    const { hiddenSize: C, intermediateSize: H, numHeads: NH, numKvHeads: NKV, headDim: HS, rmsNormEps: eps } = config;
    const N = B * T;
    const KV = NKV * HS;
    const d = this.scratch;
    // logits = norm(x[rows]) @ lm_head^T; positions not trained get no gradient from the head.
    ctx.clear(d.dxn);
    matmulBackwardInput(ctx, d.dxn, this.dlogits, weights.lmHead, M, C, config.vocabSize);
    ctx.clear(d.dheadIn);
    rmsnormBackward(ctx, d.dheadIn, d.dxn, this.headIn, weights.finalNorm, M, C, eps);
    ctx.clear(d.dx);
    scatterRows(ctx, d.dx, d.dheadIn, inputs.rows, M, C);
    for (let l = config.numLayers - 1; l >= 0; l--) {
      const s = this.saved[l];
      const w = weights.layers[l];
      // x_next = xMid + down(silu(gate(xn2)) * up(xn2)), xn2 = norm(xMid); dx holds d x_next.
      ctx.clear(d.dhidden);
      this.projectBackward(d.dhidden, d.dx, s.hidden, w.down, l, 'down_proj', N, H, C, dropout, seed);
      ctx.clear(d.dgate);
      ctx.clear(d.dup);
      swigluBackward(ctx, d.dgate, d.dup, d.dhidden, s.gate, s.up, N, H);
      ctx.clear(d.dxn);
      this.projectBackward(d.dxn, d.dgate, s.xn2, w.gate, l, 'gate_proj', N, C, H, dropout, seed);
      this.projectBackward(d.dxn, d.dup, s.xn2, w.up, l, 'up_proj', N, C, H, dropout, seed);
      rmsnormBackward(ctx, d.dx, d.dxn, s.xMid, w.postNorm, N, C, eps); // dx now holds d xMid
      // xMid = xIn + o(attention(rope(q(xn1)), rope(k(xn1)), v(xn1))), xn1 = norm(xIn)
      ctx.clear(d.datt);
      this.projectBackward(d.datt, d.dx, s.att, w.o, l, 'o_proj', N, NH * HS, C, dropout, seed);
      ctx.clear(d.dq);
      ctx.clear(d.dk);
      ctx.clear(d.dv);
      attentionBackward(ctx, d.dq, d.dk, d.dv, d.stats, d.datt, s.q, s.k, s.v, B, T, NH, NKV, HS);
      ropeBackward(ctx, d.dq, inputs.positions, N, NH, HS, config.ropeTheta);
      ropeBackward(ctx, d.dk, inputs.positions, N, NKV, HS, config.ropeTheta);
      ctx.clear(d.dxn);
      this.projectBackward(d.dxn, d.dq, s.xn1, w.q, l, 'q_proj', N, C, NH * HS, dropout, seed);
      this.projectBackward(d.dxn, d.dk, s.xn1, w.k, l, 'k_proj', N, C, KV, dropout, seed);
      this.projectBackward(d.dxn, d.dv, s.xn1, w.v, l, 'v_proj', N, C, KV, dropout, seed);
      rmsnormBackward(ctx, d.dx, d.dxn, s.xIn, w.inputNorm, N, C, eps); // dx now holds d xIn
    }
  }

  private optimizerStep(lr: number, step: number, opt: OptimizerSettings): void {
    const { ctx } = this.model;
    const normSq = this.normSq;
    const R = this.lora.adapter.rank;
    ctx.clear(normSq);
    for (const m of this.lora.modules) {
      globalNormSquared(ctx, normSq, m.dA, R * m.inFeatures);
      globalNormSquared(ctx, normSq, m.dB, m.outFeatures * R);
    }
    for (const m of this.lora.modules) {
      adamwStep(ctx, m.A, m.mA, m.vA, m.dA, normSq, R * m.inFeatures, lr, opt.beta1, opt.beta2, opt.eps, opt.weightDecay, step, opt.maxGradNorm);
      adamwStep(ctx, m.B, m.mB, m.vB, m.dB, normSq, m.outFeatures * R, lr, opt.beta1, opt.beta2, opt.eps, opt.weightDecay, step, opt.maxGradNorm);
    }
  }
}

/** The positions of a micro-batch whose target is trained (not -100), ascending. */
function trainedRows(targets: Int32Array): Uint32Array {
  const rows: number[] = [];
  targets.forEach((t, i) => {
    if (t !== IGNORE_INDEX) rows.push(i);
  });
  return Uint32Array.from(rows);
}

/** A distinct dropout seed per (step seed, layer, module). */
function moduleSeed(seed: number, layer: number, target: LoraTarget): number {
  return (seed ^ Math.imul(layer + 1, 0x9e3779b1) ^ Math.imul(loraTargets.indexOf(target) + 1, 0x85ebca6b)) >>> 0;
}
