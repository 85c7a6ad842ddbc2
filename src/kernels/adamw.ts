// The optimizer on the GPU: the squared global gradient norm, then an AdamW step that clips by it in the
// kernel, so a training step reads nothing back. Parameters, gradients and moments share one layout.
import { type GpuContext, Params, groups } from '../gpu/context';
import { grid2 } from './shader';
import normCode from '../../shaders/global_norm_squared.wgsl?raw';
import adamwCode from '../../shaders/adamw_step.wgsl?raw';

/** out (1) += sum(grads (N)^2). The caller zeroes out once, then calls this for every gradient buffer. */
export function globalNormSquared(ctx: GpuContext, out: GPUBuffer, grads: GPUBuffer, N: number): void {
  ctx.dispatch(ctx.pipeline('global_norm_squared', normCode), [out, grads], new Params().u32(N), [1]);
}

/** The uniform block of adamw_step: bias corrections and decay folded on the host in double precision. */
export function adamwParams(N: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number, maxNorm: number): Params {
  if (!(step >= 1)) throw new RangeError(`AdamW step ${step} must start at 1`);
  return new Params()
    .u32(N)
    .f32(beta1)
    .f32(beta2)
    .f32(eps)
    .f32(1 - lr * weightDecay)
    .f32(lr / (1 - beta1 ** step))
    .f32(Math.sqrt(1 - beta2 ** step))
    .f32(Number.isFinite(maxNorm) && maxNorm > 0 ? maxNorm : 0);
}

/**
 * One AdamW step (PyTorch semantics) of params (N) with moments m, v (N) and grads (N), the gradient first
 * scaled by min(1, maxNorm / (sqrt(normSq[0]) + 1e-6)); maxNorm Infinity or 0 disables clipping. step counts from 1.
 */
export function adamwStep(
  ctx: GpuContext,
  params: GPUBuffer,
  m: GPUBuffer,
  v: GPUBuffer,
  grads: GPUBuffer,
  normSq: GPUBuffer,
  N: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  step: number,
  maxNorm: number,
): void {
  const uniforms = adamwParams(N, lr, beta1, beta2, eps, weightDecay, step, maxNorm);
  ctx.dispatch(ctx.pipeline('adamw_step', adamwCode), [params, m, v, grads, normSq], uniforms, grid2(groups(N, 256)));
}
