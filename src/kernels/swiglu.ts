import { type GpuContext, Params, groups } from '../gpu/context';
import code from '../../shaders/swiglu_forward.wgsl?raw';
import { grid2 } from './shader';

/** out (N, H) = silu(gate (N, H)) * up (N, H). */
export function swigluForward(ctx: GpuContext, out: GPUBuffer, gate: GPUBuffer, up: GPUBuffer, N: number, H: number): void {
  ctx.dispatch(ctx.pipeline('swiglu_forward', code), [out, gate, up], new Params().u32(N * H), grid2(groups(N * H, 256)));
}
