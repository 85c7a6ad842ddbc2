import { type GpuContext, Params, groups } from '../gpu/context';
import code from '../../shaders/rope_backward.wgsl?raw';
import { ropeInvFreq } from '../ref/rope';
import { grid2 } from './shader';

// inv_freq tables per context and (HS, theta), uploaded once: the same f32 values ropeForward binds.
const tables = new WeakMap<GpuContext, Map<string, GPUBuffer>>();

function invFreqBuffer(ctx: GpuContext, HS: number, theta: number): GPUBuffer {
  let byShape = tables.get(ctx);
  if (!byShape) tables.set(ctx, (byShape = new Map()));
  const key = `${HS} ${theta}`;
  let buffer = byShape.get(key);
  if (!buffer) {
    buffer = ctx.upload(ropeInvFreq(HS, theta), `rope_backward inv_freq ${key}`);
    byShape.set(key, buffer);
  }
  return buffer;
}

/** dx (N, NH, HS), in place: the gradient of ropeForward, a rotation by the negative angle. positions u32 (N). */
export function ropeBackward(ctx: GpuContext, dx: GPUBuffer, positions: GPUBuffer, N: number, NH: number, HS: number, theta: number): void {
  if (HS % 2 !== 0) throw new Error(`RoPE needs an even head size, got ${HS}`);
  const pairs = (N * NH * HS) / 2;
  const params = new Params().u32(N).u32(NH).u32(HS);
  ctx.dispatch(ctx.pipeline('rope_backward', code), [dx, positions, invFreqBuffer(ctx, HS, theta)], params, grid2(groups(pairs, 256)));
}
