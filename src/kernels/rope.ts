import { type GpuContext, Params, groups } from '../gpu/context';
import code from '../../shaders/rope_forward.wgsl?raw';
import { ropeInvFreq } from '../ref/rope';
import { grid2 } from './shader';

// inv_freq tables per context, keyed by `${HS} ${theta}`: computed on the CPU in f32 like Hugging Face,
// uploaded once, then bound by every call.
const tables = new WeakMap<GpuContext, Map<string, GPUBuffer>>();

function invFreqBuffer(ctx: GpuContext, HS: number, theta: number): GPUBuffer {
  let byShape = tables.get(ctx);
  if (!byShape) tables.set(ctx, (byShape = new Map()));
  const key = `${HS} ${theta}`;
  let buffer = byShape.get(key);
  if (!buffer) {
    buffer = ctx.upload(ropeInvFreq(HS, theta), `rope inv_freq ${key}`);
    byShape.set(key, buffer);
  }
  return buffer;
}

/** Rotate-half RoPE in place on x (N, NH, HS) at positions u32 (N), inv_freq = theta^(-2i/HS). */
export function ropeForward(ctx: GpuContext, x: GPUBuffer, positions: GPUBuffer, N: number, NH: number, HS: number, theta: number): void {
  if (HS % 2 !== 0) throw new Error(`RoPE needs an even head size, got ${HS}`);
  const pairs = (N * NH * HS) / 2;
  ctx.dispatch(ctx.pipeline('rope_forward', code), [x, positions, invFreqBuffer(ctx, HS, theta)], new Params().u32(N).u32(NH).u32(HS), grid2(groups(pairs, 256)));
}
