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

/** The module's sub-path under model.layers.N, e.g. "self_attn.q_proj". */
export function targetPath(target: LoraTarget): string {
  const mlp: LoraTarget[] = ['gate_proj', 'up_proj', 'down_proj'];
  return `${mlp.includes(target) ? 'mlp' : 'self_attn'}.${target}`;
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

/** AdamW moments of every module, in module order: what a checkpoint keeps besides the adapter. */
export interface OptimizerState {
  m: Float32Array[]; // per module: A's then B's
  v: Float32Array[];
}

export class GpuLora {
  readonly scale: number;
  private readonly byKey = new Map<string, GpuLoraModule>();

  private constructor(
    private readonly ctx: GpuContext,
    readonly adapter: Omit<LoraAdapter, 'modules'>,
    readonly modules: GpuLoraModule[],
  ) {
    this.scale = adapter.alpha / adapter.rank;
    for (const m of modules) this.byKey.set(`${m.layer}.${m.target}`, m);
  }

  static upload(ctx: GpuContext, adapter: LoraAdapter, optimizer?: OptimizerState): GpuLora {
    const { modules, ...settings } = adapter;
    const gpuModules = modules.map((m, i): GpuLoraModule => {
      const zeros = (n: number) => ctx.buffer(n * 4);
      const moment = (state: Float32Array[] | undefined, k: number, n: number) => (state ? ctx.upload(state[2 * i + k]) : zeros(n));
      return {
        layer: m.layer,
        target: m.target,
        inFeatures: m.inFeatures,
        outFeatures: m.outFeatures,
        A: ctx.upload(m.A),
        B: ctx.upload(m.B),
        dA: zeros(m.A.length),
        dB: zeros(m.B.length),
        mA: moment(optimizer?.m, 0, m.A.length),
        vA: moment(optimizer?.v, 0, m.A.length),
        mB: moment(optimizer?.m, 1, m.B.length),
        vB: moment(optimizer?.v, 1, m.B.length),
      };
    });
    return new GpuLora(ctx, settings, gpuModules);
  }

  get(layer: number, target: LoraTarget): GpuLoraModule | undefined {
    return this.byKey.get(`${layer}.${target}`);
  }

  /** Reads the adapter back (A and B of every module). */
  async download(): Promise<LoraAdapter> {
    const modules: LoraModuleWeights[] = [];
    for (const m of this.modules) {
      const R = this.adapter.rank;
      modules.push({
        layer: m.layer,
        target: m.target,
        inFeatures: m.inFeatures,
        outFeatures: m.outFeatures,
        A: await this.ctx.readF32(m.A, R * m.inFeatures),
        B: await this.ctx.readF32(m.B, m.outFeatures * R),
      });
    }
    return { ...this.adapter, modules };
  }

  async downloadGradients(): Promise<{ dA: Float32Array; dB: Float32Array }[]> {
    const R = this.adapter.rank;
    const out = [];
    for (const m of this.modules) {
      out.push({ dA: await this.ctx.readF32(m.dA, R * m.inFeatures), dB: await this.ctx.readF32(m.dB, m.outFeatures * R) });
    }
    return out;
  }

  async downloadOptimizer(): Promise<OptimizerState> {
    const R = this.adapter.rank;
    const state: OptimizerState = { m: [], v: [] };
    for (const mod of this.modules) {
      state.m.push(await this.ctx.readF32(mod.mA, R * mod.inFeatures), await this.ctx.readF32(mod.mB, mod.outFeatures * R));
      state.v.push(await this.ctx.readF32(mod.vA, R * mod.inFeatures), await this.ctx.readF32(mod.vB, mod.outFeatures * R));
    }
    return state;
  }

  /** Records zeroing every gradient (backward passes accumulate). */
  clearGradients(): void {
    for (const m of this.modules) {
      this.ctx.clear(m.dA);
      this.ctx.clear(m.dB);
    }
  }

  destroy(): void {
    for (const m of this.modules) for (const b of [m.A, m.B, m.dA, m.dB, m.mA, m.vA, m.mB, m.vB]) b.destroy();
  }
}
