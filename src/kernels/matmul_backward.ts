// Backward of matmulForward (out = inp @ weight^T + bias) as two single-owner passes: the input gradient and
// the weight gradient. Both accumulate; the caller zeroes. Base weights are frozen, so the forward model
// needs only the input pass; the weight pass serves trainable weights.
import { type GpuContext, type GpuWeight, Params, groups } from '../gpu/context';
import { isNarrow } from './matmul';
import { weightPipeline } from './shader';
import inputCode from '../../shaders/matmul_backward_input.wgsl?raw';
import narrowInputCode from '../../shaders/matmul_narrow_backward_input.wgsl?raw';
import weightCode from '../../shaders/matmul_backward_weight.wgsl?raw';

const TILE = 64; // output tile edge of every shader here

/** dinp (N, C) += dout (N, OC) @ weight (OC, C). */
export function matmulBackwardInput(ctx: GpuContext, dinp: GPUBuffer, dout: GPUBuffer, weight: GpuWeight, N: number, C: number, OC: number): void {
  const pipeline = isNarrow(OC, C)
    ? weightPipeline(ctx, 'matmul_narrow_backward_input', narrowInputCode, weight.dtype)
    : weightPipeline(ctx, 'matmul_backward_input', inputCode, weight.dtype);
  ctx.dispatch(pipeline, [dinp, dout, weight.buffer], new Params().u32(N).u32(C).u32(OC), [groups(C, TILE), groups(N, TILE)]);
}

/** dweight (OC, C) += dout (N, OC)^T @ inp (N, C). */
export function matmulBackwardWeight(ctx: GpuContext, dweight: GPUBuffer, dout: GPUBuffer, inp: GPUBuffer, N: number, C: number, OC: number): void {
  const pipeline = ctx.pipeline('matmul_backward_weight', weightCode);
  ctx.dispatch(pipeline, [dweight, dout, inp], new Params().u32(N).u32(C).u32(OC), [groups(C, TILE), groups(OC, TILE)]);
}
