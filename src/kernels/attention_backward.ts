// Backward of causal self-attention for training (keys 0..t of the same rows, no KV cache), with grouped-query
// heads, as two single-owner passes: per block of queries (dq, and the softmax statistics), then per block of
// keys (dk, dv, summed over the query heads that share the key/value head). Scale 1 / sqrt(HS).
import { type GpuContext, Params } from '../gpu/context';
import queryCode from '../../shaders/attention_backward_query.wgsl?raw';
import keyValueCode from '../../shaders/attention_backward_keyvalue.wgsl?raw';
import { checkHeads, queryBlock, tileRows } from './attention';
import { grid2, specializedPipeline } from './shader';

/** Keys per workgroup of the key/value pass. */
const KEY_BLOCK = 64;

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
  checkHeads(NH, NKV, HS);
  const GROUP = NH / NKV;
  const params = new Params().u32(B).u32(T).u32(NH).u32(NKV);
  const BQ = queryBlock(T, GROUP);
  const query = specializedPipeline(ctx, 'attention_backward_query', queryCode, { HS, GROUP, BQ, BK: tileRows(HS), WG: BQ * GROUP });
  ctx.dispatch(query, [dq, stats, dout, q, k, v], params, grid2(B * NKV * Math.ceil(T / BQ)));
  const keys = Math.min(KEY_BLOCK, T);
  const keyValue = specializedPipeline(ctx, 'attention_backward_keyvalue', keyValueCode, { HS, GROUP, TQ: tileRows(GROUP * HS), WG: keys });
  ctx.dispatch(keyValue, [dk, dv, stats, dout, q, k, v], params, grid2(B * NKV * Math.ceil(T / keys)));
}
