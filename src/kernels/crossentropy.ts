// Cross-entropy over the vocabulary with a label mask, Hugging Face's convention: labels align with the input
// ids and the shift happens in the loss, so the caller passes targets[n] = labels[n + 1] (and -100 for the
// last position of each row). -100 marks a position that is not trained (prompt tokens, padding).
import { type GpuContext, Params } from '../gpu/context';
import { grid2 } from './shader';
import forwardCode from '../../shaders/crossentropy_forward.wgsl?raw';
import backwardCode from '../../shaders/crossentropy_backward.wgsl?raw';

/** losses (N) = -log softmax(logits (N, V))[targets (N) i32]; 0 where targets[n] == -100. */
export function crossentropyForward(ctx: GpuContext, losses: GPUBuffer, logits: GPUBuffer, targets: GPUBuffer, N: number, V: number): void {
  const pipeline = ctx.pipeline('crossentropy_forward', forwardCode);
  ctx.dispatch(pipeline, [losses, logits, targets], new Params().u32(N).u32(V), grid2(N));
}

/**
 * dlogits (N, V) = (softmax(logits) - onehot(targets)) * dlosses (N) per row on trained rows, 0 on masked rows.
 * Overwrites dlogits (the first gradient of a step). dlosses = 1 / trained tokens on every row gives the mean
 * loss's gradient; seqlogpBackward's output chains a per-sequence head into it.
 */
export function crossentropyBackward(ctx: GpuContext, dlogits: GPUBuffer, logits: GPUBuffer, targets: GPUBuffer, dlosses: GPUBuffer, N: number, V: number): void {
  const pipeline = ctx.pipeline('crossentropy_backward', backwardCode);
  ctx.dispatch(pipeline, [dlogits, logits, targets, dlosses], new Params().u32(N).u32(V), grid2(N));
}
