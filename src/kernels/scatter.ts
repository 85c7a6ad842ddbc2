import { type GpuContext, Params, groups } from '../gpu/context';
import code from '../../shaders/scatter_rows.wgsl?raw';
import { grid2 } from './shader';

/** out[rows[m]] (C) = src[m] for m < M; rows u32 (M) distinct. The backward of a row gather. */
export function scatterRows(ctx: GpuContext, out: GPUBuffer, src: GPUBuffer, rows: GPUBuffer, M: number, C: number): void {
  ctx.dispatch(ctx.pipeline('scatter_rows', code), [out, src, rows], new Params().u32(M).u32(C), grid2(groups(M * C, 256)));
}
