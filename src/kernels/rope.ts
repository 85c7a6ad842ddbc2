import { type GpuContext, Params, groups } from '../gpu/context';
import code from '../../shaders/rope_forward.wgsl?raw';
import { grid2 } from './shader';

/** Rotates x (N, NH, HS) in place by positions u32 (N), Hugging Face rotate-half. */
export function ropeForward(ctx: GpuContext, x: GPUBuffer, positions: GPUBuffer, N: number, NH: number, HS: number, theta: number): void {
  const params = new Params().u32(N).u32(NH).u32(HS).f32(theta);
  ctx.dispatch(ctx.pipeline('rope_forward', code), [x, positions], params, grid2(groups((N * NH * HS) / 2, 256)));
}
