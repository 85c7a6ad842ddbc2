import { type GpuContext, Params } from '../gpu/context';
import code from '../../shaders/attention_forward.wgsl?raw';
import { grid2, headLanes, sizedPipeline } from './shader';

/**
 * out (B, T, NH*HS) = causal attention of q (B, T, NH*HS) over kCache, vCache (B, S, NKV*HS): query t of row b
 * sits in slot start+t and attends slots [validFrom[b], start+t]; validFrom u32 (B). Head dims up to 256.
 */
export function attentionForward(
  ctx: GpuContext,
  out: GPUBuffer,
  q: GPUBuffer,
  kCache: GPUBuffer,
  vCache: GPUBuffer,
  validFrom: GPUBuffer,
  B: number,
  T: number,
  NH: number,
  NKV: number,
  HS: number,
  S: number,
  start: number,
): void {
  if (HS > 256) throw new Error(`attention supports head dims up to 256, got ${HS}`);
  if (NH % NKV !== 0) throw new Error(`query heads (${NH}) must be a multiple of key/value heads (${NKV})`);
  const params = new Params().u32(B).u32(T).u32(NH).u32(NKV).u32(HS).u32(S).u32(start);
  // Prompts and training rows (T > 1) have a workgroup per query, plenty to narrow them; decoding (T = 1) keeps
  // the 64 lanes as written for its few, long rows.
  const lanes = T > 1 ? headLanes(HS) : 64;
  ctx.dispatch(sizedPipeline(ctx, 'attention_forward', code, lanes), [out, q, kCache, vCache, validFrom], params, grid2(B * T * NH));
}
