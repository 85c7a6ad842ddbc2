// The reward head: Hugging Face LlamaForSequenceClassification's `score`, a Linear(C, 1) without bias, read at
// each sequence's last token (the caller gathers those hidden states into M rows). Forward, and the two
// single-owner backward passes, which accumulate into caller-zeroed gradients.
import { type GpuContext, Params, groups } from '../gpu/context';
import { grid2, rowLanes, sizedPipeline } from './shader';
import forwardCode from '../../shaders/reward_forward.wgsl?raw';
import backwardInputCode from '../../shaders/reward_backward_input.wgsl?raw';
import backwardWeightCode from '../../shaders/reward_backward_weight.wgsl?raw';

/** rewards (M) = hidden (M, C) @ score (C). */
export function rewardForward(ctx: GpuContext, rewards: GPUBuffer, hidden: GPUBuffer, score: GPUBuffer, M: number, C: number): void {
  const pipeline = sizedPipeline(ctx, 'reward_forward', forwardCode, rowLanes(C));
  ctx.dispatch(pipeline, [rewards, hidden, score], new Params().u32(M).u32(C), grid2(M));
}

/** dhidden (M, C) += drewards (M) outer score (C). */
export function rewardBackwardInput(ctx: GpuContext, dhidden: GPUBuffer, drewards: GPUBuffer, score: GPUBuffer, M: number, C: number): void {
  const pipeline = ctx.pipeline('reward_backward_input', backwardInputCode);
  ctx.dispatch(pipeline, [dhidden, drewards, score], new Params().u32(M).u32(C), grid2(groups(M * C, 256)));
}

/** dscore (C) += drewards (M) @ hidden (M, C). */
export function rewardBackwardWeight(ctx: GpuContext, dscore: GPUBuffer, drewards: GPUBuffer, hidden: GPUBuffer, M: number, C: number): void {
  const pipeline = ctx.pipeline('reward_backward_weight', backwardWeightCode);
  ctx.dispatch(pipeline, [dscore, drewards, hidden], new Params().u32(M).u32(C), grid2(groups(C, 256)));
}
