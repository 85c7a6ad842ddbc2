import { type GpuContext, Params, groups } from '../gpu/context';
import code from '../../shaders/swiglu_backward.wgsl?raw';
import { grid2 } from './shader';

/** dgate (N, H) and dup (N, H) += the gradients of out = silu(gate) * up for dout (N, H). */
export function swigluBackward(ctx: GpuContext, dgate: GPUBuffer, dup: GPUBuffer, dout: GPUBuffer, gate: GPUBuffer, up: GPUBuffer, N: number, H: number): void {
  ctx.dispatch(ctx.pipeline('swiglu_backward', code), [dgate, dup, dout, gate, up], new Params().u32(N * H), grid2(groups(N * H, 256)));
}
