// The kernels a model runs with on this GPU, settled at model load before the weights are uploaded: every variant
// is checked against its CPU twin (once per adapter and kernel source), failures are excluded and f16 weights fall
// back to f32 where their kernels fail, then the variants of each hot shape are timed (once per adapter, model
// shape and kernel source) and the fastest kept. Both results are cached, so a second load neither checks nor tunes.
import type { GpuContext } from '../gpu/context';
import type { GpuInfo } from '../gpu/device';
import embeddingCode from '../../shaders/embedding_forward.wgsl?raw';
import { matmulChoices, matmulKernels, variantById, variantsOf, type MatmulKernel, type WeightDtype } from '../kernels/matmul-variants';
import type { ModelConfig } from '../model/config';
import { applyKernelChecks, runKernelChecks, type KernelCheck } from './kernel-checks';
import { hotShapes, tuneMatmuls, type TunedShape } from './kernel-tuning';

/** Where checks and choices are kept between loads: IndexedDB in the browser, a file in Node. */
export interface KernelCache {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
}

export function memoryKernelCache(): KernelCache {
  const entries = new Map<string, unknown>();
  return {
    get: async (key) => entries.get(key),
    set: async (key, value) => void entries.set(key, value),
  };
}

/** Variants pinned by hand (tests, benchmarks): used for every shape they fit, and nothing is tuned. */
export type KernelPins = Partial<Record<MatmulKernel, string>>;

/**
 * Pins written as `kernel=variant,...` (INSTRUCT_STUDIO_KERNEL_PINS, read by every Node engine), e.g.
 * `matmul_forward=direct_x8_y1,matmul_backward_input=tiled`. Unknown kernels or variants are refused by name.
 */
export function parseKernelPins(text: string | undefined): KernelPins {
  const pins: KernelPins = {};
  for (const entry of (text ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const [kernel, variant] = entry.split('=').map((part) => part.trim());
    if (!matmulKernels.includes(kernel as MatmulKernel)) throw new Error(`kernel pin '${entry}': the kernel must be one of ${matmulKernels.join(', ')}`);
    if (!variant) throw new Error(`kernel pin '${entry}': write it as kernel=variant`);
    pins[kernel as MatmulKernel] = variantById(kernel as MatmulKernel, variant).id;
  }
  return pins;
}

/** What runs where, for the GPU panel and the bench. */
export interface KernelReport {
  adapter: string;
  weightDtype: WeightDtype;
  /** Why f16 weights fell back to f32, or null. */
  fallback: string | null;
  checks: KernelCheck[];
  checksFrom: 'checked now' | 'cache';
  tuning: 'tuned now' | 'cache' | 'pinned';
  pins: KernelPins;
  /** Each hot shape's timings and choice (empty when pinned). */
  choices: TunedShape[];
  /** Milliseconds the checks and the tuning took at this load (0 from the cache). */
  setupMs: number;
}

export interface KernelSetupOptions {
  cache: KernelCache;
  pins?: KernelPins;
  onProgress?: (stage: string, done: number, total: number) => void;
}

/** Checks and tunes the kernels of `config` on `ctx`; sets ctx.weightDtype and the context's matmul choices. */
export async function prepareKernels(ctx: GpuContext, gpu: GpuInfo, config: ModelConfig, options: KernelSetupOptions): Promise<KernelReport> {
  const started = performance.now();
  const adapter = adapterKey(gpu);
  const code = await kernelCodeHash();
  const checksKey = `kernel checks|${adapter}|${code}`;
  let checks = (await options.cache.get(checksKey)) as KernelCheck[] | undefined;
  const checksFrom = checks ? 'cache' : 'checked now';
  if (!checks) {
    options.onProgress?.('checking kernels against their CPU twins', 0, 1);
    checks = await runKernelChecks(ctx);
    await options.cache.set(checksKey, checks);
  }
  const choices = matmulChoices(ctx);
  const { weightDtype, fallback } = applyKernelChecks(choices, ctx.shaderF16, checks);
  ctx.weightDtype = weightDtype;
  if (fallback) console.warn(fallback);
  const pins = options.pins ?? {};
  for (const kernel of matmulKernels) choices.pin(kernel, pins[kernel] ?? null);
  let tuned: TunedShape[] = [];
  let tuning: KernelReport['tuning'] = 'pinned';
  if (Object.keys(pins).length === 0) {
    const tuningKey = `kernel choices|${adapter}|${code}|${weightDtype}|${hotShapes(config).map((s) => `${s.C}x${s.OC}`).join(',')}`;
    const cached = (await options.cache.get(tuningKey)) as TunedShape[] | undefined;
    tuning = cached ? 'cache' : 'tuned now';
    tuned = cached ?? (await tuneMatmuls(ctx, config, weightDtype, (done, total) => options.onProgress?.('timing kernel variants on this GPU', done, total)));
    if (!cached) await options.cache.set(tuningKey, tuned);
    choices.setTuned(Object.fromEntries(tuned.map((t) => [t.key, t.variant])));
  }
  const setupMs = checksFrom === 'cache' && tuning !== 'tuned now' ? 0 : Math.round(performance.now() - started);
  return { adapter, weightDtype, fallback, checks, checksFrom, tuning, pins, choices: tuned, setupMs };
}

function adapterKey(gpu: GpuInfo): string {
  return [gpu.vendor, gpu.architecture, gpu.device, gpu.description].filter(Boolean).join(' ') || 'unknown adapter';
}

/** A digest of every checked kernel's source: a changed kernel is checked and tuned again. */
async function kernelCodeHash(): Promise<string> {
  const sources = [...matmulKernels.flatMap((k) => variantsOf(k).map((v) => `${k} ${v.id}\n${v.code}`)), embeddingCode].join('\n');
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(sources)));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}
