// The bench's measurements beyond tokens/s: a per-kernel profile of recorded dispatches, replayed one at a time
// (WebGPU timestamp queries are optional and SwiftShader has none), matmul GFLOP/s, and the TF.js peer
// (../shared/peers/tfjs) run as a child process for alternating comparisons.
import { spawn } from 'node:child_process';
import type { Dispatch, GpuContext } from '../gpu/context';
import { matmulForward } from '../kernels/matmul';

// GPUBufferUsage values from the WebGPU spec (Node has no such globals until the webgpu package installs them).
const UNIFORM_COPY_DST = 0x40 | 0x8;

export interface KernelTime {
  family: string; // attention, matmul, lora, rmsnorm...
  kernel: string; // the shader, without its launch-shape suffix
  dispatches: number;
  ms: number;
  share: number; // of the profiled total
}

/** The shader a pipeline runs: its label without the suffix a launch shape or weight dtype adds. */
export function kernelName(label: string): string {
  return label.replace(/(_(wg\d+|HS\d+.*|WX\d+.*|QUADS\d+.*|f16))+$/, '');
}

/** A kernel's family: its first word, with the optimizer's kernels (AdamW, the clipping norm) together. */
function familyOf(kernel: string): string {
  const word = kernel.split('_')[0];
  return word === 'adamw' || word === 'global' ? 'optimizer' : word;
}

/**
 * Replays each dispatch alone (one submit, awaited) and sums the wall time per kernel, less the round trip of an
 * empty submit. Dispatches write their outputs again: profile only buffers whose contents no longer matter.
 */
export async function profileDispatches(ctx: GpuContext, dispatches: Dispatch[]): Promise<{ kernels: KernelTime[]; submitOverheadMs: number }> {
  const { device } = ctx;
  const uniform = device.createBuffer({ label: 'profile params', size: 256, usage: UNIFORM_COPY_DST });
  const roundTrip = async (encode: (pass: GPUComputePassEncoder) => void) => {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    encode(pass);
    pass.end();
    const start = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - start;
  };
  const empties: number[] = [];
  for (let i = 0; i < 9; i++) empties.push(await roundTrip(() => {}));
  const overhead = median(empties);
  const byKernel = new Map<string, KernelTime>();
  for (const d of dispatches) {
    device.queue.writeBuffer(uniform, 0, d.params);
    const entries: GPUBindGroupEntry[] = d.buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
    entries.push({ binding: d.buffers.length, resource: { buffer: uniform, size: d.params.byteLength } });
    const bindGroup = device.createBindGroup({ layout: d.pipeline.getBindGroupLayout(0), entries });
    const ms = await roundTrip((pass) => {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(...d.grid);
    });
    const kernel = kernelName(d.pipeline.label);
    const row = byKernel.get(kernel) ?? { family: familyOf(kernel), kernel, dispatches: 0, ms: 0, share: 0 };
    row.dispatches++;
    row.ms += Math.max(0, ms - overhead);
    byKernel.set(kernel, row);
  }
  uniform.destroy();
  const kernels = [...byKernel.values()].sort((a, b) => b.ms - a.ms);
  const total = kernels.reduce((a, k) => a + k.ms, 0);
  for (const k of kernels) {
    k.ms = round(k.ms);
    k.share = round(k.ms / total);
  }
  return { kernels, submitOverheadMs: round(overhead) };
}

/** The kernels' times summed per family, largest first. */
export function byFamily(kernels: KernelTime[]): { family: string; ms: number; share: number }[] {
  const families = new Map<string, { family: string; ms: number; share: number }>();
  for (const k of kernels) {
    const f = families.get(k.family) ?? { family: k.family, ms: 0, share: 0 };
    f.ms = round(f.ms + k.ms);
    f.share = round(f.share + k.share);
    families.set(k.family, f);
  }
  return [...families.values()].sort((a, b) => b.ms - a.ms);
}

/** The peer's shapes (M, K, N) and those of one stories260K-sized training step. */
export const MATMUL_SHAPES: [number, number, number][] = [
  [512, 512, 512],
  [2048, 64, 172],
  [512, 576, 1536],
  [512, 64, 172],
  [512, 172, 64],
  [4, 64, 512],
];

/** GFLOP/s of C (M, N) = A (M, K) Bᵀ, B (N, K) f32, the median of `reps` awaited runs. */
export async function matmulRates(ctx: GpuContext, reps = 3): Promise<{ shape: string; ms: number; gflops: number }[]> {
  const rows = [];
  for (const [M, K, N] of MATMUL_SHAPES) {
    const a = ctx.upload(filled(M * K, 1));
    const b = ctx.upload(filled(N * K, 2));
    const c = ctx.buffer(M * N * 4);
    const run = async () => {
      const start = performance.now();
      matmulForward(ctx, c, a, { buffer: b, dtype: 'f32' }, null, M, K, N);
      ctx.submit();
      await ctx.device.queue.onSubmittedWorkDone();
      return performance.now() - start;
    };
    await run(); // pipeline compilation
    const times = [];
    for (let i = 0; i < reps; i++) times.push(await run());
    const ms = median(times);
    rows.push({ shape: `${M}x${K}x${N}`, ms: round(ms), gflops: round((2 * M * K * N) / ms / 1e6) });
    for (const buffer of [a, b, c]) buffer.destroy();
  }
  return rows;
}

/**
 * Runs `../shared/peers/tfjs/run.sh <work>` from the project root with `env` added (PEER_MODEL, PEER_P...) and
 * returns its JSON line.
 */
export function runPeer(work: 'train' | 'decode', env: Record<string, string>): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['../shared/peers/tfjs/run.sh', work], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`the TF.js peer's ${work} run failed (exit ${code}): ${line.slice(0, 200)}`));
      else resolve(JSON.parse(line) as Record<string, unknown>);
    });
  });
}

export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Deterministic values in [-0.5, 0.5). */
function filled(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296 - 0.5;
  }
  return out;
}
