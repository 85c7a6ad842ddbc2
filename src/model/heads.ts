// The heads the final hidden states feed, as in Hugging Face's LlamaForCausalLM / LlamaForSequenceClassification:
// LM logits (generation), masked cross-entropy over trained positions (SFT), per-sequence log-probability sums
// (DPO, scoring answers) and a scalar reward read at each sequence's last token (reward model, `score`).
// Each has a forward and a backward over kernel wrappers; backward writes dhidden (M, C), which the caller zeroed.
// Dimension letters: M head rows, C hidden, V vocab, S sequences, P pairs.
import type { GpuContext } from '../gpu/context';
import { crossentropyBackward, crossentropyForward } from '../kernels/crossentropy';
import { matmulForward } from '../kernels/matmul';
import { matmulBackwardInput } from '../kernels/matmul_backward';
import { rewardBackwardInput, rewardBackwardWeight, rewardForward } from '../kernels/reward';
import { seqlogpBackward, seqlogpForward } from '../kernels/seqlogp';
import type { ModelOnGpu } from './forward';

/** logits (M, V) = hidden (M, C) @ lm_head^T. */
export function lmLogits(model: ModelOnGpu, logits: GPUBuffer, hidden: GPUBuffer, M: number): void {
  matmulForward(model.ctx, logits, hidden, model.weights.lmHead, null, M, model.config.hiddenSize, model.config.vocabSize);
}

/** Buffers of the cross-entropy head for M trained positions. */
export interface CrossEntropyBuffers {
  logits: GPUBuffer; // (M, V)
  dlogits: GPUBuffer; // (M, V)
  targets: GPUBuffer; // i32 (M) the next token at each trained position
  losses: GPUBuffer; // (M) -log p(target)
  dlosses: GPUBuffer; // (M) upstream gradient of each loss
}

/** losses (M) = cross-entropy of the LM logits of hidden (M, C) against targets. */
export function crossEntropyForward(model: ModelOnGpu, head: CrossEntropyBuffers, hidden: GPUBuffer, M: number): void {
  lmLogits(model, head.logits, hidden, M);
  crossentropyForward(model.ctx, head.losses, head.logits, head.targets, M, model.config.vocabSize);
}

/** dhidden (M, C) += d(sum dlosses * losses) / d hidden. */
export function crossEntropyBackward(model: ModelOnGpu, head: CrossEntropyBuffers, dhidden: GPUBuffer, M: number): void {
  const { ctx, config } = model;
  crossentropyBackward(ctx, head.dlogits, head.logits, head.targets, head.dlosses, M, config.vocabSize);
  matmulBackwardInput(ctx, dhidden, head.dlogits, model.weights.lmHead, M, config.hiddenSize, config.vocabSize);
}

/** The per-sequence log-probability head: cross-entropy over the labelled tokens, summed per sequence. */
export interface SeqLogpBuffers extends CrossEntropyBuffers {
  starts: GPUBuffer; // u32 (S+1) sequence s owns head rows [starts[s], starts[s+1])
  logps: GPUBuffer; // (S) sum of log p(label) over the sequence's labelled tokens
  dlogps: GPUBuffer; // (S)
}

export function seqLogpForward(model: ModelOnGpu, head: SeqLogpBuffers, hidden: GPUBuffer, M: number, S: number): void {
  crossEntropyForward(model, head, hidden, M);
  seqlogpForward(model.ctx, head.logps, head.losses, head.starts, S);
}

export function seqLogpBackward(model: ModelOnGpu, head: SeqLogpBuffers, dhidden: GPUBuffer, M: number, S: number): void {
  seqlogpBackward(model.ctx, head.dlosses, head.dlogps, head.starts, M, S);
  crossEntropyBackward(model, head, dhidden, M);
}

/** The reward head: score (C) is LlamaForSequenceClassification's Linear(C, 1, bias=False). */
export interface RewardBuffers {
  score: GPUBuffer; // (C)
  dscore: GPUBuffer; // (C) accumulates
  rewards: GPUBuffer; // (M) one per sequence, read at its last token
  drewards: GPUBuffer; // (M)
}

export function rewardHeadForward(ctx: GpuContext, head: RewardBuffers, hidden: GPUBuffer, M: number, C: number): void {
  rewardForward(ctx, head.rewards, hidden, head.score, M, C);
}

export function rewardHeadBackward(ctx: GpuContext, head: RewardBuffers, dhidden: GPUBuffer, hidden: GPUBuffer, M: number, C: number): void {
  rewardBackwardInput(ctx, dhidden, head.drewards, head.score, M, C);
  rewardBackwardWeight(ctx, head.dscore, head.drewards, hidden, M, C);
}
