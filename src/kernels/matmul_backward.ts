// Backward of matmulForward (out = inp @ weight^T + bias) as two single-owner passes: the input gradient and
// the weight gradient. Both accumulate; the caller zeroes. Base weights are frozen, so the forward model
// needs only the input pass; the weight pass serves trainable weights.
import { type GpuContext, type GpuWeight, Params, groups } from '../gpu/context';
import { matmulChoices } from './matmul-variants';
import weightCode from '../../shaders/matmul_backward_weight.wgsl?raw';

const TILE = 64; // output tile edge of the weight-gradient shader

/** dinp (N, C) += dout (N, OC) @ weight (OC, C), by the context's choice of variant for this shape. */
export function matmulBackwardInput(ctx: GpuContext, dinp: GPUBuffer, dout: GPUBuffer, weight: GpuWeight, N: number, C: number, OC: number): void {
  const variant = matmulChoices(ctx).pick('matmul_backward_input', N, C, OC, weight.dtype);
  variant.record(ctx, [dinp, dout, weight.buffer], new Params().u32(N).u32(C).u32(OC), N, C, OC, weight.dtype);
}

/** dweight (OC, C) += dout (N, OC)^T @ inp (N, C). */
export function matmulBackwardWeight(ctx: GpuContext, dweight: GPUBuffer, dout: GPUBuffer, inp: GPUBuffer, N: number, C: number, OC: number): void {
  const pipeline = ctx.pipeline('matmul_backward_weight', weightCode);
  ctx.dispatch(pipeline, [dweight, dout, inp], new Params().u32(N).u32(C).u32(OC), [groups(C, TILE), groups(OC, TILE)]);
}
