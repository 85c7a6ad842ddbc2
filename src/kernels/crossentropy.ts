// Cross-entropy over the vocabulary with a label mask, Hugging Face's convention: labels align with the input
// ids and the shift happens in the loss, so the caller passes targets[n] = labels[n + 1] (and -100 for the
// last position of each row). -100 marks a position that is not trained (prompt tokens, padding).
import { type GpuContext, Params, groups } from '../gpu/context';
import { grid2, isNarrowRow } from './shader';
import forwardCode from '../../shaders/crossentropy_forward.wgsl?raw';
import backwardCode from '../../shaders/crossentropy_backward.wgsl?raw';
import rowsForwardCode from '../../shaders/crossentropy_rows_forward.wgsl?raw';
import rowsBackwardCode from '../../shaders/crossentropy_rows_backward.wgsl?raw';

/** Vocabularies up to this size (a multiple of 4) take the one-invocation-per-row kernels (test-size models). */
export const ROW_MAX_V = 1024;

/** losses (N) = -log softmax(logits (N, V))[targets (N) i32]; 0 where targets[n] == -100. */
export function crossentropyForward(ctx: GpuContext, losses: GPUBuffer, logits: GPUBuffer, targets: GPUBuffer, N: number, V: number): void {
  const params = new Params().u32(N).u32(V);
  if (isNarrowRow(V, ROW_MAX_V)) ctx.dispatch(ctx.pipeline('crossentropy_rows_forward', rowsForwardCode), [losses, logits, targets], params, grid2(groups(N, 64)));
  else ctx.dispatch(ctx.pipeline('crossentropy_forward', forwardCode), [losses, logits, targets], params, grid2(N));
}

/**
 * dlogits (N, V) = (softmax(logits) - onehot(targets)) * dlosses (N) per row on trained rows, 0 on masked rows.
 * Overwrites dlogits (the first gradient of a step). dlosses = 1 / trained tokens on every row gives the mean
 * loss's gradient; seqlogpBackward's output chains a per-sequence head into it.
 */
export function crossentropyBackward(ctx: GpuContext, dlogits: GPUBuffer, logits: GPUBuffer, targets: GPUBuffer, dlosses: GPUBuffer, N: number, V: number): void {
  const params = new Params().u32(N).u32(V);
  const buffers = [dlogits, logits, targets, dlosses];
  if (isNarrowRow(V, ROW_MAX_V)) ctx.dispatch(ctx.pipeline('crossentropy_rows_backward', rowsBackwardCode), buffers, params, grid2(groups(N, 64)));
  else ctx.dispatch(ctx.pipeline('crossentropy_backward', backwardCode), buffers, params, grid2(N));
}
