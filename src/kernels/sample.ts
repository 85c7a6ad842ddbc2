import { type GpuContext, Params } from '../gpu/context';
import code from '../../shaders/sample_forward.wgsl?raw';
import { grid2 } from './shader';

/** The id written for a row whose logits hold a NaN or an infinity (the shader declares the same constant). */
export const NON_FINITE_LOGITS = 0xffffffff;

/**
 * One token per row of logits (B, V) into outIds u32 (B), drawn with seeds u32 (B) at decoding `step`.
 * temperature 0 is greedy; topK 0 and topP 1 switch those filters off; top-p applies within the top-k.
 * A row with a NaN or infinite logit gets NON_FINITE_LOGITS.
 */
export function sampleForward(
  ctx: GpuContext,
  outIds: GPUBuffer,
  logits: GPUBuffer,
  seeds: GPUBuffer,
  B: number,
  V: number,
  step: number,
  temperature: number,
  topK: number,
  topP: number,
): void {
  const greedy = temperature <= 0;
  // 1 / temperature rounded once, here, so the shader and the CPU twin scale by the same f32.
  const invTemperature = greedy ? 0 : Math.fround(1 / temperature);
  const params = new Params().u32(B).u32(V).u32(step).u32(greedy ? 1 : 0).f32(invTemperature).u32(topK).f32(topP);
  ctx.dispatch(ctx.pipeline('sample_forward', code), [outIds, logits, seeds], params, grid2(B));
}
