import { type GpuContext, Params } from '../gpu/context';
import code from '../../shaders/rmsnorm_backward.wgsl?raw';
import { grid2, rowLanes, sizedPipeline } from './shader';

/** dinp (N, C) += the input gradient of rmsnormForward for dout (N, C), inp (N, C), weight (C). Weight frozen. */
export function rmsnormBackward(ctx: GpuContext, dinp: GPUBuffer, dout: GPUBuffer, inp: GPUBuffer, weight: GPUBuffer, N: number, C: number, eps: number): void {
  ctx.dispatch(sizedPipeline(ctx, 'rmsnorm_backward', code, rowLanes(C)), [dinp, dout, inp, weight], new Params().u32(N).u32(C).f32(eps), grid2(N));
}
