// LoRA weights on the GPU with their gradients and AdamW moments, all f32, one set of buffers per module.
import type { GpuContext } from '../gpu/context';
import type { LoraAdapter, LoraModuleWeights, LoraTarget } from './adapter';

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
