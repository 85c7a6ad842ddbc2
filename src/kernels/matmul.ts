import { type GpuContext, type GpuWeight, Params } from '../gpu/context';
import { matmulChoices } from './matmul-variants';
import { zeroBuffer } from './shader';

/**
 * out (N, OC) = inp (N, C) @ weight (OC, C)^T + bias (OC) | null; weight f32 or f16, f32 accumulation. With
 * `accumulate` the product is added to out instead (a projection into the residual stream, with no pass of its own).
 * The variant is the context's choice for this shape (matmul-variants.ts). Every variant keeps one reduction order
 * over C, so a row's result has the same bits for any N and whichever variant ran.
 */
export function matmulForward(
  ctx: GpuContext,
  out: GPUBuffer,
  inp: GPUBuffer,
  weight: GpuWeight,
  bias: GPUBuffer | null,
  N: number,
  C: number,
  OC: number,
  accumulate = false,
): void {
  const params = new Params().u32(N).u32(C).u32(OC).u32(bias ? 1 : 0).u32(accumulate ? 1 : 0);
  const variant = matmulChoices(ctx).pick('matmul_forward', N, C, OC, weight.dtype);
  variant.record(ctx, [out, inp, weight.buffer, bias ?? zeroBuffer(ctx)], params, N, C, OC, weight.dtype);
}
