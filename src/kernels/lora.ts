// LoRA on a frozen projection out = inp @ W^T (PEFT semantics): out += scale * dropout(inp) @ A^T @ B^T with
// scale = alpha / r. A (R, C) and B (OC, R) are trainable f32. Dropout on the LoRA input comes from a
// counter-based hash of (seed, element), so the forward and both backward passes agree without a mask
// buffer; pass a new seed for every module and step, and dropout 0 at evaluation.
import { type GpuContext, Params, groups } from '../gpu/context';
import { dropoutScale, dropoutThreshold } from './dropout';
import { grid2, isNarrowRow, rowLanes, ROW_MAX_C, sizedPipeline } from './shader';
import dropoutCode from '../../shaders/lora_dropout.wgsl?raw';
import forwardShader from '../../shaders/lora_forward.wgsl?raw';
import backwardInputShader from '../../shaders/lora_backward_input.wgsl?raw';
import backwardWeightShader from '../../shaders/lora_backward_weight.wgsl?raw';
import rowsForwardShader from '../../shaders/lora_rows_forward.wgsl?raw';
import rowsBackwardInputShader from '../../shaders/lora_rows_backward_input.wgsl?raw';

// Each shader calls the one dropout() of lora_dropout.wgsl (WGSL has no includes: appended here).
const forwardCode = `${forwardShader}\n${dropoutCode}`;
const backwardInputCode = `${backwardInputShader}\n${dropoutCode}`;
const backwardWeightCode = `${backwardWeightShader}\n${dropoutCode}`;
const rowsForwardCode = `${rowsForwardShader}\n${dropoutCode}`;
const rowsBackwardInputCode = `${rowsBackwardInputShader}\n${dropoutCode}`;

const R_MAX = 256; // one workgroup lane per rank at least
const ROW_MAX_R = 16; // the per-row kernels keep a row's R sums in registers

/** Narrow projections take the one-invocation-per-row kernels (see ROW_MAX_C). */
function isNarrowLora(C: number, R: number, OC: number): boolean {
  return isNarrowRow(C) && OC <= ROW_MAX_C && R <= ROW_MAX_R;
}

function loraParams(scale: number, N: number, C: number, R: number, OC: number, dropout: number, seed: number): Params {
  if (!(R >= 1 && R <= R_MAX)) throw new RangeError(`LoRA rank ${R} is outside [1, ${R_MAX}]: choose a smaller rank`);
  return new Params().u32(N).u32(C).u32(R).u32(OC).f32(scale).u32(seed).u32(dropoutThreshold(dropout)).f32(dropoutScale(dropout));
}

/**
 * u (N, R) = dropout(inp (N, C)) @ A (R, C)^T, saved for the backward pass; out (N, OC) += scale * u @ Bw (OC, R)^T,
 * accumulating onto the frozen projection's output.
 */
export function loraForward(
  ctx: GpuContext,
  out: GPUBuffer,
  u: GPUBuffer,
  inp: GPUBuffer,
  A: GPUBuffer,
  Bw: GPUBuffer,
  scale: number,
  N: number,
  C: number,
  R: number,
  OC: number,
  dropout = 0,
  seed = 0,
): void {
  const params = loraParams(scale, N, C, R, OC, dropout, seed);
  const buffers = [out, u, inp, A, Bw];
  if (isNarrowLora(C, R, OC)) ctx.dispatch(ctx.pipeline('lora_rows_forward', rowsForwardCode), buffers, params, grid2(groups(N, 64)));
  else ctx.dispatch(sizedPipeline(ctx, 'lora_forward', forwardCode, rowLanes(R)), buffers, params, grid2(N));
}

/**
 * Backward of loraForward with the same dropout and seed: du (N, R) = scale * dout @ Bw (scratch, overwritten),
 * dinp (N, C) += dropout'(du @ A), dA (R, C) += du^T @ dropout(inp), dB (OC, R) += scale * dout^T @ u.
 */
export function loraBackward(
  ctx: GpuContext,
  dinp: GPUBuffer,
  dA: GPUBuffer,
  dB: GPUBuffer,
  du: GPUBuffer,
  dout: GPUBuffer,
  inp: GPUBuffer,
  u: GPUBuffer,
  A: GPUBuffer,
  Bw: GPUBuffer,
  scale: number,
  N: number,
  C: number,
  R: number,
  OC: number,
  dropout = 0,
  seed = 0,
): void {
  const params = loraParams(scale, N, C, R, OC, dropout, seed);
  const inputBuffers = [dinp, du, dout, A, Bw];
  if (isNarrowLora(C, R, OC)) ctx.dispatch(ctx.pipeline('lora_rows_backward_input', rowsBackwardInputCode), inputBuffers, params, grid2(groups(N, 64)));
  else ctx.dispatch(sizedPipeline(ctx, 'lora_backward_input', backwardInputCode, rowLanes(R)), inputBuffers, params, grid2(N));
  const owners = R * C + OC * R;
  ctx.dispatch(ctx.pipeline('lora_backward_weight', backwardWeightCode), [dA, dB, du, dout, inp, u], params, grid2(groups(owners, 256)));
}
