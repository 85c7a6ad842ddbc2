// LoRA adapters: on the CPU (what checkpoints store, PEFT files carry and the trainer uploads) and on the GPU
// (weights with their gradients and AdamW moments). Module (layer l, target t) adds scale * B @ A to the frozen
// weight W (out, in), scale = alpha / rank.
import type { GpuContext } from '../gpu/context';
import type { ModelConfig } from './config';

export const loraTargets = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof loraTargets)[number];

export interface LoraSettings {
  rank: number; // R
  alpha: number;
  dropout: number;
  targets: LoraTarget[];
}

export interface LoraModuleWeights {
  layer: number;
  target: LoraTarget;
  inFeatures: number;
  outFeatures: number;
  A: Float32Array; // (R, in)
  B: Float32Array; // (out, R)
}

export interface LoraAdapter extends LoraSettings {
  /** The base model's name or path, for adapter_config.json. */
  baseModel: string;
  /** In layer order, then target order. */
  modules: LoraModuleWeights[];
  /** A reward model's head (C): LlamaForSequenceClassification's score, Linear(C, 1, bias=False), trained fully. */
  score?: Float32Array;
}

/** (in, out) features of a target projection. */
export function targetShape(config: ModelConfig, target: LoraTarget): { inFeatures: number; outFeatures: number } {
  const { hiddenSize: C, intermediateSize: H, numHeads: NH, numKvHeads: NKV, headDim: HS } = config;
  switch (target) {
    case 'q_proj':
      return { inFeatures: C, outFeatures: NH * HS };
    case 'k_proj':
    case 'v_proj':
      return { inFeatures: C, outFeatures: NKV * HS };
    case 'o_proj':
      return { inFeatures: NH * HS, outFeatures: C };
    case 'gate_proj':
    case 'up_proj':
      return { inFeatures: C, outFeatures: H };
    case 'down_proj':
      return { inFeatures: H, outFeatures: C };
  }
}

export interface GpuLoraModule {
  layer: number;
  target: LoraTarget;
  inFeatures: number;
  outFeatures: number;
  A: GPUBuffer; // (R, in)
  B: GPUBuffer; // (out, R)
  dA: GPUBuffer; // (R, in)
  dB: GPUBuffer; // (out, R)
  mA: GPUBuffer; // AdamW first moment of A
  vA: GPUBuffer; // AdamW second moment of A
  mB: GPUBuffer;
  vB: GPUBuffer;
}

/** One trainable tensor with its gradient and AdamW moments, as the optimizer sees it. */
export interface GpuTrainable {
  count: number;
  param: GPUBuffer;
  grad: GPUBuffer;
  m: GPUBuffer;
  v: GPUBuffer;
}

/** AdamW moments of every trainable tensor in `tensors()` order: what a checkpoint keeps besides the adapter. */
export interface OptimizerState {
  m: Float32Array[]; // per module: A's then B's; then the reward head's score, if any
  v: Float32Array[];
}

export class GpuLora {
  readonly scale: number;
  private readonly byKey = new Map<string, GpuLoraModule>();

  private constructor(
    private readonly ctx: GpuContext,
    readonly adapter: LoraSettings & { baseModel: string },
    readonly modules: GpuLoraModule[],
    /** The reward head's score (C) of a reward model, trained with the adapter; null for a plain adapter. */
    readonly score: GpuTrainable | null,
  ) {
    this.scale = adapter.alpha / adapter.rank;
    for (const m of modules) this.byKey.set(`${m.layer}.${m.target}`, m);
  }

  static upload(ctx: GpuContext, adapter: LoraAdapter, optimizer?: OptimizerState): GpuLora {
    const { modules, score, ...settings } = adapter;
    const zeros = (n: number) => ctx.buffer(n * 4);
    const moment = (state: Float32Array[] | undefined, k: number, n: number) => (state ? ctx.upload(state[k]) : zeros(n));
    const gpuModules = modules.map((m, i): GpuLoraModule => ({
      layer: m.layer,
      target: m.target,
      inFeatures: m.inFeatures,
      outFeatures: m.outFeatures,
      A: ctx.upload(m.A),
      B: ctx.upload(m.B),
      dA: zeros(m.A.length),
      dB: zeros(m.B.length),
      mA: moment(optimizer?.m, 2 * i, m.A.length),
      vA: moment(optimizer?.v, 2 * i, m.A.length),
      mB: moment(optimizer?.m, 2 * i + 1, m.B.length),
      vB: moment(optimizer?.v, 2 * i + 1, m.B.length),
    }));
    const k = 2 * modules.length;
    const gpuScore = score
      ? { count: score.length, param: ctx.upload(score), grad: zeros(score.length), m: moment(optimizer?.m, k, score.length), v: moment(optimizer?.v, k, score.length) }
      : null;
    return new GpuLora(ctx, settings, gpuModules, gpuScore);
  }

  get(layer: number, target: LoraTarget): GpuLoraModule | undefined {
    return this.byKey.get(`${layer}.${target}`);
  }

  /** Every trainable tensor: A then B of each module, then the score. */
  tensors(): GpuTrainable[] {
    const R = this.adapter.rank;
    return [
      ...this.modules.flatMap((m) => [
        { count: R * m.inFeatures, param: m.A, grad: m.dA, m: m.mA, v: m.vA },
        { count: m.outFeatures * R, param: m.B, grad: m.dB, m: m.mB, v: m.vB },
      ]),
      ...(this.score ? [this.score] : []),
    ];
  }

  /** Reads the adapter back (A and B of every module, and the score). */
  async download(): Promise<LoraAdapter> {
    const tensors = await this.readAll((t) => t.param);
    const modules = this.modules.map((m, i): LoraModuleWeights => ({
      layer: m.layer,
      target: m.target,
      inFeatures: m.inFeatures,
      outFeatures: m.outFeatures,
      A: tensors[2 * i],
      B: tensors[2 * i + 1],
    }));
    return { ...this.adapter, modules, ...(this.score ? { score: tensors[2 * modules.length] } : {}) };
  }

  /** The gradients of `tensors()`, in its order. */
  downloadGradients(): Promise<Float32Array[]> {
    return this.readAll((t) => t.grad);
  }

  async downloadOptimizer(): Promise<OptimizerState> {
    return { m: await this.readAll((t) => t.m), v: await this.readAll((t) => t.v) };
  }

  /** Records zeroing every gradient (backward passes accumulate). */
  clearGradients(): void {
    for (const t of this.tensors()) this.ctx.clear(t.grad);
  }

  destroy(): void {
    for (const t of this.tensors()) for (const b of [t.param, t.grad, t.m, t.v]) b.destroy();
  }

  private async readAll(pick: (t: GpuTrainable) => GPUBuffer): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (const t of this.tensors()) out.push(await this.ctx.readF32(pick(t), t.count));
    return out;
  }
}
