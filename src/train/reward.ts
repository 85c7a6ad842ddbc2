// The reward model's head for the stepper, as TRL's RewardTrainer: the score (the adapter's trained Linear(C, 1))
// read at each sequence's own last token, and loss = mean over pairs of -log sigmoid(r_chosen - r_rejected -
// margin). Metrics: pairwise accuracy (r_chosen > r_rejected) and the mean reward margin.
// Dimension letters: G micro-batches, P pairs, M = 2P head rows (chosen rows, then rejected), C hidden.
import type { ModelConfig } from '../model/config';
import type { ModelOnGpu } from '../model/forward';
import { rewardHeadBackward, rewardHeadForward, type RewardBuffers } from '../model/heads';
import type { GpuLora } from '../model/lora';
import { allocator, type Make } from '../model/memory';
import { preferenceLossBackward, preferenceLossForward } from '../kernels/preference_loss';
import type { PairBatch } from './pairs';
import { Stepper, type StepMetrics, type StepShape, type TrainingHead } from './stepper';

interface RewardHeadBuffers<Buf> {
  rewards: Buf; // (M)
  drewards: Buf; // (M)
  losses: Buf; // (P)
  reference: Buf; // (M) zeros: a reward model has no reference values
  margins: Buf[]; // (G) (P)
  log: Buf; // (G, 3P): each micro-batch's losses (P) then rewards (2P)
}

export function layoutRewardHead<Buf>(make: Make<Buf>, _config: ModelConfig, { M, G }: StepShape): RewardHeadBuffers<Buf> {
  const P = M / 2;
  return {
    rewards: make('head', 'rewards', M * 4),
    drewards: make('head', 'drewards', M * 4),
    losses: make('head', 'pair losses', P * 4),
    reference: make('head', 'zero reference', M * 4),
    margins: Array.from({ length: G }, (_, g) => make('inputs', `margins ${g}`, P * 4)),
    log: make('head', 'reward log', G * 3 * P * 4),
  };
}

export class RewardHead implements TrainingHead<PairBatch> {
  private readonly owned: GPUBuffer[] = [];
  private readonly buffers: RewardHeadBuffers<GPUBuffer>;
  private readonly P: number;

  constructor(
    private readonly model: ModelOnGpu,
    private readonly lora: GpuLora,
    shape: StepShape,
  ) {
    if (!lora.score) throw new Error('a reward model needs an adapter with a score head');
    this.buffers = layoutRewardHead(allocator(model.ctx, this.owned), model.config, shape);
    this.P = shape.M / 2;
  }

  rows(batch: PairBatch): Uint32Array {
    return Uint32Array.from(batch.lengths, (length, b) => b * batch.T + length - 1);
  }

  weight(batch: PairBatch): number {
    return batch.P;
  }

  forward(hidden: GPUBuffer, batch: PairBatch, _rows: Uint32Array, g: number): void {
    const { ctx, config } = this.model;
    const { losses, reference, margins, log } = this.buffers;
    const P = batch.P;
    ctx.write(margins[g], batch.margins);
    rewardHeadForward(ctx, this.rewardBuffers(), hidden, 2 * P, config.hiddenSize);
    preferenceLossForward(ctx, losses, this.buffers.rewards, reference, margins[g], 1, P);
    ctx.copy(losses, 0, log, g * 3 * this.P * 4, P * 4);
    ctx.copy(this.buffers.rewards, 0, log, (g * 3 + 1) * this.P * 4, 2 * P * 4);
  }

  backward(dhidden: GPUBuffer, hidden: GPUBuffer, batch: PairBatch, g: number, step: PairBatch[]): void {
    const { ctx, config } = this.model;
    const { rewards, drewards, reference, margins } = this.buffers;
    const pairs = step.reduce((a, b) => a + b.P, 0);
    preferenceLossBackward(ctx, drewards, rewards, reference, margins[g], 1, 1 / pairs, batch.P);
    rewardHeadBackward(ctx, this.rewardBuffers(), dhidden, hidden, 2 * batch.P, config.hiddenSize);
  }

  async read(step: PairBatch[]): Promise<StepMetrics> {
    const log = await this.model.ctx.readF32(this.buffers.log, step.length * 3 * this.P);
    let loss = 0;
    let correct = 0;
    let margin = 0;
    let pairs = 0;
    step.forEach((batch, g) => {
      const base = g * 3 * this.P;
      for (let p = 0; p < batch.P; p++) {
        const chosen = log[base + this.P + p];
        const rejected = log[base + this.P + batch.P + p];
        loss += log[base + p];
        correct += chosen > rejected ? 1 : 0;
        margin += chosen - rejected;
      }
      pairs += batch.P;
    });
    return { loss: loss / pairs, accuracy: correct / pairs, margin: margin / pairs };
  }

  destroy(): void {
    for (const buffer of this.owned) buffer.destroy();
  }

  private rewardBuffers(): RewardBuffers {
    const score = this.lora.score!;
    return { score: score.param, dscore: score.grad, rewards: this.buffers.rewards, drewards: this.buffers.drewards };
  }
}

/** The reward model's stepper: the model's stepper with the reward head, for pair batches up to `shape`. */
export function rewardStepper(model: ModelOnGpu, lora: GpuLora, shape: StepShape): Stepper<PairBatch> {
  return new Stepper(model, lora, new RewardHead(model, lora, shape), shape);
}

/** The shape a stepper needs for pair batches: the most tokens and rows of any one batch. */
export function pairShape(batches: PairBatch[], G: number): StepShape {
  return {
    N: Math.max(1, ...batches.map((b) => b.B * b.T)),
    M: 2 * Math.max(1, ...batches.map((b) => b.P)),
    G,
  };
}
