// Per-sequence log-probabilities of the labelled tokens, for DPO and for scoring answers. The caller runs
// crossentropy_forward over the M trained positions of S sequences, grouped by sequence in order; starts u32
// (S + 1) gives sequence s the rows [starts[s], starts[s + 1]). The backward pass yields the per-row upstream
// gradient that crossentropyBackward takes.
import { type GpuContext, Params, groups } from '../gpu/context';
import { grid2 } from './shader';
import forwardCode from '../../shaders/seqlogp_forward.wgsl?raw';
import backwardCode from '../../shaders/seqlogp_backward.wgsl?raw';

/** logps (S) = -sum of losses (M) over each range of starts u32 (S + 1); 0 for an empty range. */
export function seqlogpForward(ctx: GpuContext, logps: GPUBuffer, losses: GPUBuffer, starts: GPUBuffer, S: number): void {
  const pipeline = ctx.pipeline('seqlogp_forward', forwardCode);
  ctx.dispatch(pipeline, [logps, losses, starts], new Params().u32(S), grid2(S));
}

/** dlosses (M) = -dlogps (S)[s] on the rows of sequence s, 0 outside every range (overwrites). */
export function seqlogpBackward(ctx: GpuContext, dlosses: GPUBuffer, dlogps: GPUBuffer, starts: GPUBuffer, M: number, S: number): void {
  const pipeline = ctx.pipeline('seqlogp_backward', backwardCode);
  ctx.dispatch(pipeline, [dlosses, dlogps, starts], new Params().u32(M).u32(S), grid2(groups(M, 256)));
}
