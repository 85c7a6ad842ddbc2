import { type GpuContext, Params, groups } from '../gpu/context';
import code from '../../shaders/rmsnorm_backward.wgsl?raw';
import rowsCode from '../../shaders/rmsnorm_rows_backward.wgsl?raw';
import { grid2, isNarrowRow, NORM_ROW_MAX_C, rowLanes, sizedPipeline } from './shader';

/** dinp (N, C) += the input gradient of rmsnormForward for dout (N, C), inp (N, C), weight (C). Weight frozen. */
export function rmsnormBackward(ctx: GpuContext, dinp: GPUBuffer, dout: GPUBuffer, inp: GPUBuffer, weight: GPUBuffer, N: number, C: number, eps: number): void {
  const params = new Params().u32(N).u32(C).f32(eps);
  const buffers = [dinp, dout, inp, weight];
  if (isNarrowRow(C, NORM_ROW_MAX_C)) ctx.dispatch(ctx.pipeline('rmsnorm_rows_backward', rowsCode), buffers, params, grid2(groups(N, 64)));
  else ctx.dispatch(sizedPipeline(ctx, 'rmsnorm_backward', code, rowLanes(C)), buffers, params, grid2(N));
}
