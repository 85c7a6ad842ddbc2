// The GPU memory plan, after llm.c's fill_in_parameter_sizes / fill_in_activation_sizes: every buffer a run will
// hold is listed with its size, from the config and the run's largest shapes, and checked against the device's
// limits BEFORE anything is allocated. The same layout functions that fill a plan also allocate the buffers
// (`Layout`), so what is planned is exactly what is made.
import type { GpuContext } from '../gpu/context';
import type { ModelConfig } from './config';
import { loraTargets, targetShape, type LoraSettings } from './lora';

export type MemoryGroup = 'weights' | 'adapters' | 'kv cache' | 'activations' | 'head' | 'gradients' | 'optimizer' | 'inputs';

export interface PlannedBuffer {
  group: MemoryGroup;
  label: string;
  bytes: number;
}

/** What a device allows: its per-buffer limits and the memory budget the engine may use on it. */
export interface GpuMemoryLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  /** Bytes the engine may hold on this GPU in all (WebGPU does not report a GPU's memory). */
  memoryBudget: number;
}

/** Four gigabytes: what a laptop browser's WebGPU reliably grants. Settable per engine. */
export const DEFAULT_MEMORY_BUDGET = 4 * 1024 ** 3;

/** A run too big for the GPU: thrown before anything is allocated, with the numbers. */
export class GpuMemoryError extends Error {
  override name = 'GpuMemoryError';
  constructor(
    readonly neededBytes: number,
    readonly allowedBytes: number,
    readonly what: string,
    advice: string,
  ) {
    super(`${what} needs ${formatBytes(neededBytes)}, this GPU allows ${formatBytes(allowedBytes)}; ${advice}.`);
  }
}

/** What to change when a training run does not fit; with gradient checkpointing on, only the run's size is left. */
export function trainingMemoryAdvice(recompute: boolean): string {
  return `lower the batch size, max length or rank${recompute ? '' : ', or turn gradient checkpointing on'}`;
}

/** 1536 -> "1.50 KiB", 3.1 GiB -> "3.10 GiB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** Storage buffers are at least 4 bytes, in 4-byte steps (as GpuContext.buffer makes them). */
function bufferBytes(bytes: number): number {
  return Math.max(4, Math.ceil(bytes / 4) * 4);
}

export class MemoryPlan {
  readonly buffers: PlannedBuffer[] = [];

  add(group: MemoryGroup, label: string, bytes: number): void {
    this.buffers.push({ group, label, bytes: bufferBytes(bytes) });
  }

  /** Adds every buffer of another plan (a run's plan on top of the weights already resident). */
  include(other: MemoryPlan): this {
    this.buffers.push(...other.buffers);
    return this;
  }

  get totalBytes(): number {
    return this.buffers.reduce((a, b) => a + b.bytes, 0);
  }

  byGroup(): Partial<Record<MemoryGroup, number>> {
    const out: Partial<Record<MemoryGroup, number>> = {};
    for (const b of this.buffers) out[b.group] = (out[b.group] ?? 0) + b.bytes;
    return out;
  }

  /** Throws GpuMemoryError when one buffer exceeds a binding limit or the total exceeds the budget. */
  check(limits: GpuMemoryLimits, what: string, advice: string): void {
    const over = this.overrun(limits);
    if (over) throw new GpuMemoryError(over.bytes, over.allowed, over.buffer ? `${what}: its buffer "${over.buffer}"` : what, advice);
  }

  /** Whether check() would pass. */
  fits(limits: GpuMemoryLimits): boolean {
    return this.overrun(limits) === null;
  }

  /** The first limit the plan exceeds: its largest buffer over the binding limit, else its total over the budget. */
  private overrun(limits: GpuMemoryLimits): { bytes: number; allowed: number; buffer?: string } | null {
    const perBuffer = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
    const largest = this.buffers.reduce<PlannedBuffer | null>((a, b) => (a && a.bytes >= b.bytes ? a : b), null);
    if (largest && largest.bytes > perBuffer) return { bytes: largest.bytes, allowed: perBuffer, buffer: largest.label };
    if (this.totalBytes > limits.memoryBudget) return { bytes: this.totalBytes, allowed: limits.memoryBudget };
    return null;
  }
}

/**
 * Makes one buffer of a layout. `plan` records it; `allocate` also creates it. Layout functions are written once
 * against this, so a plan and an allocation can never disagree.
 */
export type Make<Buf> = (group: MemoryGroup, label: string, bytes: number) => Buf;

export function planner(plan: MemoryPlan): Make<number> {
  return (group, label, bytes) => {
    plan.add(group, label, bytes);
    return bytes;
  };
}

/** A Make that allocates, remembering every buffer so the owner can destroy them together. */
export function allocator(ctx: GpuContext, owned: GPUBuffer[]): Make<GPUBuffer> {
  return (_group, label, bytes) => {
    const buffer = ctx.buffer(bytes, label);
    owned.push(buffer);
    return buffer;
  };
}

/** The uploaded weights: matrices in the weight dtype, norms and biases f32 (as uploadWeights makes them). */
export function planWeights(plan: MemoryPlan, tensors: { name: string; shape: number[] }[], dtype: 'f32' | 'f16'): void {
  for (const { name, shape } of tensors) {
    const count = shape.reduce((a, b) => a * b, 1);
    plan.add('weights', name, count * (shape.length === 2 && dtype === 'f16' ? 2 : 4));
  }
}

/** A LoRA set on the GPU: A and B per module, and for training their gradients and two AdamW moments each. */
export function planLora(plan: MemoryPlan, config: ModelConfig, settings: Pick<LoraSettings, 'rank' | 'targets'>, training: boolean): void {
  const R = settings.rank;
  for (let l = 0; l < config.numLayers; l++) {
    for (const target of loraTargets.filter((t) => settings.targets.includes(t))) {
      const { inFeatures, outFeatures } = targetShape(config, target);
      const bytes = (R * inFeatures + outFeatures * R) * 4;
      plan.add('adapters', `lora ${l} ${target}`, bytes);
      if (training) {
        plan.add('gradients', `lora grad ${l} ${target}`, bytes);
        plan.add('optimizer', `adamw moments ${l} ${target}`, 2 * bytes);
      }
    }
  }
}
