import { type GpuContext, Params } from '../gpu/context';
import code from '../../shaders/rmsnorm_forward.wgsl?raw';
import { grid2, rowLanes, sizedPipeline } from './shader';

/** out (N, C) = inp (N, C) / sqrt(mean(inp^2) + eps) * weight (C). */
export function rmsnormForward(ctx: GpuContext, out: GPUBuffer, inp: GPUBuffer, weight: GPUBuffer, N: number, C: number, eps: number): void {
  ctx.dispatch(sizedPipeline(ctx, 'rmsnorm_forward', code, rowLanes(C)), [out, inp, weight], new Params().u32(N).u32(C).f32(eps), grid2(N));
}
