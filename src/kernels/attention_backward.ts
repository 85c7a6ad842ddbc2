// Backward of causal self-attention for training (keys 0..t of the same rows, no KV cache), with grouped-query
// heads, as two single-owner passes: per query row (dq, and the softmax statistics), then per key row (dk, dv,
// summed over the query heads that share the key/value head). Scale 1 / sqrt(HS).
import { type GpuContext, Params } from '../gpu/context';
import queryCode from '../../shaders/attention_backward_query.wgsl?raw';
import keyValueCode from '../../shaders/attention_backward_keyvalue.wgsl?raw';
import { headLanes, sizedPipeline } from './shader';

const HS_MAX = 256; // head dims held in workgroup memory by both shaders

/**
 * dq (B, T, NH*HS), dk and dv (B, T, NKV*HS) += the gradients of causal attention for dout (B, T, NH*HS),
 * given q (B, T, NH*HS), k and v (B, T, NKV*HS) after RoPE. stats (B, NH, T, 2) is scratch written here:
 * the logsumexp of each query row's scaled scores and D = sum(P * dP).
 */
export function attentionBackward(
  ctx: GpuContext,
  dq: GPUBuffer,
  dk: GPUBuffer,
  dv: GPUBuffer,
  stats: GPUBuffer,
  dout: GPUBuffer,
  q: GPUBuffer,
  k: GPUBuffer,
  v: GPUBuffer,
  B: number,
  T: number,
  NH: number,
  NKV: number,
  HS: number,
): void {
  if (HS > HS_MAX) throw new RangeError(`attention backward supports head dims up to ${HS_MAX}, got ${HS}: this model is not supported for training`);
  if (NH % NKV !== 0) throw new RangeError(`query heads (${NH}) must be a multiple of key/value heads (${NKV})`);
  const params = new Params().u32(T).u32(NH).u32(NKV).u32(HS).f32(1 / Math.sqrt(HS));
  const lanes = headLanes(HS);
  ctx.dispatch(sizedPipeline(ctx, 'attention_backward_query', queryCode, lanes), [dq, stats, dout, q, k, v], params, [T, B * NH]);
  ctx.dispatch(sizedPipeline(ctx, 'attention_backward_keyvalue', keyValueCode, lanes), [dk, dv, stats, dout, q, k, v], params, [T, B * NKV]);
}
