// The pairwise preference loss shared by the reward model and DPO: losses[p] = -log sigmoid(z[p]) with
//   z[p] = beta * ((values[p] - values[P + p]) - (reference[p] - reference[P + p])) - margins[p].
// values and reference hold the chosen sequences at [0, P), the rejected ones at [P, 2P). The reward model passes
// its rewards, a zeroed reference of 2P floats and beta = 1, with optional score-difference margins; DPO passes
// policy and reference sequence log-probs and P zeroed margins. (zeroBuffer is too small for either: a shader
// reading past a buffer's end gets no guaranteed zero.)
import { type GpuContext, Params, groups } from '../gpu/context';
import { grid2 } from './shader';
import forwardCode from '../../shaders/preference_loss_forward.wgsl?raw';
import backwardCode from '../../shaders/preference_loss_backward.wgsl?raw';

/** losses (P) = softplus(-z) for values (2P), reference (2P), margins (P). */
export function preferenceLossForward(ctx: GpuContext, losses: GPUBuffer, values: GPUBuffer, reference: GPUBuffer, margins: GPUBuffer, beta: number, P: number): void {
  const pipeline = ctx.pipeline('preference_loss_forward', forwardCode);
  ctx.dispatch(pipeline, [losses, values, reference, margins], new Params().u32(P).f32(beta), grid2(groups(P, 256)));
}

/**
 * dvalues (2P) = the gradient of scale * sum(losses) w.r.t. values: -beta * sigmoid(-z) * scale for the chosen,
 * +beta * sigmoid(-z) * scale for the rejected. Overwrites dvalues (the first gradient of a step); scale = 1 / P
 * gives the mean loss's gradient.
 */
export function preferenceLossBackward(ctx: GpuContext, dvalues: GPUBuffer, values: GPUBuffer, reference: GPUBuffer, margins: GPUBuffer, beta: number, scale: number, P: number): void {
  const pipeline = ctx.pipeline('preference_loss_backward', backwardCode);
  ctx.dispatch(pipeline, [dvalues, values, reference, margins], new Params().u32(P).f32(beta).f32(scale), grid2(groups(P, 256)));
}
