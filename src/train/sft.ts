// SFT's head for the stepper: masked cross-entropy over the trained positions (target != -100), the loss being
// the mean over every trained token of the step. Only those positions go through the final norm, the LM head and
// the loss: with response-only labels most of a row is prompt, and the head is the step's widest matmul (V columns).
// Dimension letters: G micro-batches, M trained positions of a micro-batch, V vocab.
import type { ModelConfig } from '../model/config';
import type { ModelOnGpu } from '../model/forward';
import { crossEntropyBackward, crossEntropyForward, type CrossEntropyBuffers } from '../model/heads';
import type { GpuLora } from '../model/lora';
import { allocator, type Make } from '../model/memory';
import { trainedRows, type Batch } from './data';
import { Stepper, type StepMetrics, type StepShape, type TrainingHead } from './stepper';

interface SftHeadBuffers<Buf> {
  logits: Buf; // (M, V)
  dlogits: Buf; // (M, V)
  losses: Buf; // (M)
  lossLog: Buf; // (G, M) losses of every micro-batch of the step
  targets: Buf[]; // (G) i32 (M): the (already shifted) target at each trained position
  dlosses: Buf[]; // (G) (M): 1 / trained tokens of the step, the mean's gradient
}

export function layoutSftHead<Buf>(make: Make<Buf>, config: ModelConfig, { M, G }: StepShape): SftHeadBuffers<Buf> {
  const V = config.vocabSize;
  return {
    logits: make('head', 'logits', M * V * 4),
    dlogits: make('head', 'dlogits', M * V * 4),
    losses: make('head', 'losses', M * 4),
    lossLog: make('head', 'loss log', G * M * 4),
    targets: Array.from({ length: G }, (_, g) => make('inputs', `targets ${g}`, M * 4)),
    dlosses: Array.from({ length: G }, (_, g) => make('inputs', `dlosses ${g}`, M * 4)),
  };
}

export class SftHead implements TrainingHead<Batch> {
  private readonly owned: GPUBuffer[] = [];
  private readonly buffers: SftHeadBuffers<GPUBuffer>;
  private readonly M: number;

  constructor(private readonly model: ModelOnGpu, shape: StepShape) {
    this.buffers = layoutSftHead(allocator(model.ctx, this.owned), model.config, shape);
    this.M = shape.M;
  }

  rows(batch: Batch): Uint32Array {
    return trainedRows(batch.targets);
  }

  weight(batch: Batch): number {
    return batch.trainedTokens;
  }

  forward(hidden: GPUBuffer, batch: Batch, rows: Uint32Array, g: number): void {
    const { ctx } = this.model;
    const head = this.crossEntropy(g);
    ctx.write(head.targets, Int32Array.from(rows, (r) => batch.targets[r]));
    crossEntropyForward(this.model, head, hidden, rows.length);
    ctx.copy(head.losses, 0, this.buffers.lossLog, g * this.M * 4, rows.length * 4);
  }

  backward(dhidden: GPUBuffer, _hidden: GPUBuffer, batch: Batch, g: number, step: Batch[]): void {
    const M = batch.trainedTokens;
    const trained = step.reduce((a, b) => a + b.trainedTokens, 0);
    const head = this.crossEntropy(g);
    this.model.ctx.write(head.dlosses, new Float32Array(M).fill(1 / trained));
    crossEntropyBackward(this.model, head, dhidden, M);
  }

  async read(step: Batch[]): Promise<StepMetrics> {
    const log = await this.model.ctx.readF32(this.buffers.lossLog, step.length * this.M);
    let sum = 0;
    step.forEach((batch, g) => {
      for (let i = 0; i < batch.trainedTokens; i++) sum += log[g * this.M + i];
    });
    return { loss: sum / Math.max(step.reduce((a, b) => a + b.trainedTokens, 0), 1) };
  }

  destroy(): void {
    for (const buffer of this.owned) buffer.destroy();
  }

  private crossEntropy(g: number): CrossEntropyBuffers {
    const { logits, dlogits, losses, targets, dlosses } = this.buffers;
    return { logits, dlogits, losses, targets: targets[g], dlosses: dlosses[g] };
  }
}

/** The SFT stepper: the model's stepper with the cross-entropy head, for micro-batches up to `shape`. */
export function sftStepper(model: ModelOnGpu, lora: GpuLora, shape: StepShape): Stepper<Batch> {
  return new Stepper(model, lora, new SftHead(model, shape), shape);
}

/** The shape a stepper needs for SFT batches: the most tokens and trained positions of any one batch. */
export function sftShape(batches: Batch[], G: number): StepShape {
  return {
    N: Math.max(1, ...batches.map((b) => b.B * b.T)),
    M: Math.max(1, ...batches.map((b) => b.trainedTokens)),
    G,
  };
}
