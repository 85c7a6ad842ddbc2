import { type GpuContext, Params, groups } from '../gpu/context';
import code from '../../shaders/residual_forward.wgsl?raw';

/** out (N) += inp (N). */
export function residualForward(ctx: GpuContext, out: GPUBuffer, inp: GPUBuffer, N: number): void {
  ctx.dispatch(ctx.pipeline('residual_forward', code), [out, inp], new Params().u32(N), [groups(N, 256)]);
}
