import { type GpuContext, Params } from '../gpu/context';
import code from '../../shaders/attention_forward.wgsl?raw';
import { grid2, specializedPipeline } from './shader';

/** Lanes a workgroup aims for: a block's queries times the query heads of one key/value head. */
const LANES = 64;
/** Floats of each key and value tile in workgroup memory (two tiles: 8 KiB). */
const TILE_FLOATS = 1024;
const HS_MAX = 256;

/** Queries per block: enough to fill LANES with every head of a group, but no more than the T queries there are. */
export function queryBlock(T: number, group: number): number {
  return Math.max(1, Math.min(T, Math.floor(LANES / group)));
}

/** Keys or queries per staged tile of `rowFloats` floats each. */
export function tileRows(rowFloats: number, cap = 64): number {
  return Math.max(1, Math.min(cap, Math.floor(TILE_FLOATS / rowFloats)));
}

export function checkHeads(NH: number, NKV: number, HS: number): void {
  if (HS > HS_MAX) throw new RangeError(`attention supports head dims up to ${HS_MAX}, got ${HS}: this model is not supported`);
  if (NH % NKV !== 0) throw new RangeError(`query heads (${NH}) must be a multiple of key/value heads (${NKV})`);
  if (NH / NKV > 256) throw new RangeError(`attention supports up to 256 query heads per key/value head, got ${NH / NKV}`);
}

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
  checkHeads(NH, NKV, HS);
  const GROUP = NH / NKV;
  const BQ = queryBlock(T, GROUP);
  const pipeline = specializedPipeline(ctx, 'attention_forward', code, { HS, GROUP, BQ, BK: tileRows(HS), WG: BQ * GROUP });
  const params = new Params().u32(B).u32(T).u32(NH).u32(NKV).u32(S).u32(start);
  ctx.dispatch(pipeline, [out, q, kCache, vCache, validFrom], params, grid2(B * NKV * Math.ceil(T / BQ)));
}
