import { type GpuContext, Params, groups } from '../gpu/context';
import code from '../../shaders/rmsnorm_forward.wgsl?raw';
import rowsCode from '../../shaders/rmsnorm_rows_forward.wgsl?raw';
import { grid2, isNarrowRow, NORM_ROW_MAX_C, rowLanes, sizedPipeline } from './shader';

/** out (N, C) = inp (N, C) / sqrt(mean(inp^2) + eps) * weight (C). */
export function rmsnormForward(ctx: GpuContext, out: GPUBuffer, inp: GPUBuffer, weight: GPUBuffer, N: number, C: number, eps: number): void {
  const params = new Params().u32(N).u32(C).f32(eps);
  if (isNarrowRow(C, NORM_ROW_MAX_C)) ctx.dispatch(ctx.pipeline('rmsnorm_rows_forward', rowsCode), [out, inp, weight], params, grid2(groups(N, 64)));
  else ctx.dispatch(sizedPipeline(ctx, 'rmsnorm_forward', code, rowLanes(C)), [out, inp, weight], params, grid2(N));
}
