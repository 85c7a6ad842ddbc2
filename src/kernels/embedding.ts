import { type GpuContext, type GpuWeight, Params, groups } from '../gpu/context';
import code from '../../shaders/embedding_forward.wgsl?raw';
import { grid2, weightPipeline } from './shader';

/** out (N, C) = wte[ids[n]]; ids u32 (N), wte (V, C) f32 or f16. */
export function embeddingForward(ctx: GpuContext, out: GPUBuffer, ids: GPUBuffer, wte: GpuWeight, N: number, C: number): void {
  const pipeline = weightPipeline(ctx, 'embedding_forward', code, wte.dtype);
  ctx.dispatch(pipeline, [out, ids, wte.buffer], new Params().u32(N).u32(C), grid2(groups(N * C, 256)));
}
