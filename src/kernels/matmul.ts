import { type GpuContext, type GpuWeight, Params, groups } from '../gpu/context';
import tiledCode from '../../shaders/matmul_forward.wgsl?raw';
import vectorCode from '../../shaders/matmul_vector_forward.wgsl?raw';
import narrowCode from '../../shaders/matmul_narrow_forward.wgsl?raw';
import { grid2, weightPipeline, zeroBuffer } from './shader';

/** Up to this many rows (decode steps) take the matrix-vector kernel when C is a multiple of 4 ... */
export const VECTOR_ROWS = 8;
/**
 * ... and at least this wide: its 32 lanes per column each sum a 16-wide chunk, so a narrower row leaves most
 * lanes idle, and the tiled kernel is faster there (6x at C = 32 on SwiftShader).
 */
export const VECTOR_MIN_C = 256;

/**
 * Up to this wide, a reduction (C a multiple of 4) takes the narrow kernels, which read both operands straight
 * from storage with vec4 loads and need no staging or barriers: at C = 64 they run 3-4x the tiled kernels on
 * SwiftShader, and 14x at one row (a decode step), whose idle invocations return at once.
 */
export const NARROW_MAX_C = 256;

/** Whether a reduction over `K` (with the other width `C`, both vec4-loaded) takes a narrow kernel. */
export function isNarrow(K: number, C: number): boolean {
  return K <= NARROW_MAX_C && K % 4 === 0 && C % 4 === 0;
}

/**
 * out (N, OC) = inp (N, C) @ weight (OC, C)^T + bias (OC) | null; weight f32 or f16, f32 accumulation. With
 * `accumulate` the product is added to out instead (a projection into the residual stream, with no pass of its own).
 * The three kernels share one reduction order over C, so a row's result has the same bits for any N.
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
  const buffers = [out, inp, weight.buffer, bias ?? zeroBuffer(ctx)];
  if (N <= VECTOR_ROWS && C >= VECTOR_MIN_C && C % 4 === 0) {
    ctx.dispatch(weightPipeline(ctx, 'matmul_vector_forward', vectorCode, weight.dtype), buffers, params, grid2(groups(OC, 8)));
  } else if (isNarrow(C, 4)) {
    ctx.dispatch(weightPipeline(ctx, 'matmul_narrow_forward', narrowCode, weight.dtype), buffers, params, [groups(OC, 64), groups(N, 64)]);
  } else {
    ctx.dispatch(weightPipeline(ctx, 'matmul_forward', tiledCode, weight.dtype), buffers, params, [groups(OC, 64), groups(N, 64)]);
  }
}
