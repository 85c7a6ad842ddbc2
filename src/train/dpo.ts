// DPO's head for the stepper (the sigmoid loss of TRL's DPOTrainer): each sequence's log-probability, summed over
// its labelled (response) tokens, and loss = mean over pairs of -log sigmoid(beta * ((pi_c - pi_r) - (ref_c - ref_r))).
// The reference log-probs come from a table filled once before training (readReference) and indexed by pair.
// Metrics under TRL's meanings: the implicit rewards beta * (pi - ref) of the chosen and rejected responses, their
// margin, and the share of pairs whose chosen reward is higher.
// Dimension letters: G micro-batches, P pairs, S = 2P sequences (chosen rows, then rejected), M labelled tokens, V vocab.
import type { ModelConfig } from '../model/config';
import type { ModelOnGpu } from '../model/forward';
import { seqLogpBackward, seqLogpForward, type SeqLogpBuffers } from '../model/heads';
import type { GpuLora } from '../model/lora';
import { allocator, type Make } from '../model/memory';
import { preferenceLossBackward, preferenceLossForward } from '../kernels/preference_loss';
import { trainedRows } from './data';
import { pairBatch, shuffledChunks, type PairBatch, type PairExample } from './pairs';
import { Stepper, type StepMetrics, type StepShape, type TrainingHead } from './stepper';

/** A pair and its position in the run's pair list, where its reference log-probs are kept. */
export interface DpoExample extends PairExample {
  index: number;
}

/** A pair batch that knows which pairs it holds. */
export interface DpoBatch extends PairBatch {
  indices: Uint32Array; // (P) pair index of each pair
}

/** The largest shapes a DPO stepper holds: the stepper's, plus the most pairs of any micro-batch. */
export interface DpoShape extends StepShape {
  P: number;
}

interface DpoHeadBuffers<Buf> {
  logits: Buf; // (M, V)
  dlogits: Buf; // (M, V)
  losses: Buf; // (M) -log p of each labelled token
  dlosses: Buf; // (M)
  logps: Buf; // (S)
  dlogps: Buf; // (S)
  pairLosses: Buf; // (P)
  zeroMargins: Buf; // (P) DPO has no margin
  targets: Buf[]; // (G) i32 (M)
  starts: Buf[]; // (G) u32 (S + 1): sequence s owns head rows [starts[s], starts[s + 1])
  reference: Buf[]; // (G) (S)
  log: Buf; // (G, 3P): each micro-batch's pair losses (P), then its sequence log-probs (S)
}

export function layoutDpoHead<Buf>(make: Make<Buf>, config: ModelConfig, { M, G, P }: DpoShape): DpoHeadBuffers<Buf> {
  const V = config.vocabSize;
  const S = 2 * P;
  return {
    logits: make('head', 'logits', M * V * 4),
    dlogits: make('head', 'dlogits', M * V * 4),
    losses: make('head', 'token losses', M * 4),
    dlosses: make('head', 'token dlosses', M * 4),
    logps: make('head', 'sequence logps', S * 4),
    dlogps: make('head', 'sequence dlogps', S * 4),
    pairLosses: make('head', 'pair losses', P * 4),
    zeroMargins: make('head', 'zero margins', P * 4),
    targets: Array.from({ length: G }, (_, g) => make('inputs', `targets ${g}`, M * 4)),
    starts: Array.from({ length: G }, (_, g) => make('inputs', `sequence starts ${g}`, (S + 1) * 4)),
    reference: Array.from({ length: G }, (_, g) => make('inputs', `reference logps ${g}`, S * 4)),
    log: make('head', 'dpo log', G * 3 * P * 4),
  };
}

export class DpoHead implements TrainingHead<DpoBatch> {
  private readonly owned: GPUBuffer[] = [];
  private readonly buffers: DpoHeadBuffers<GPUBuffer>;
  private readonly P: number;

  constructor(
    private readonly model: ModelOnGpu,
    shape: DpoShape,
    private readonly beta: number,
    /** (2 * pairs) the reference log-probs of pair i at [2i] (chosen) and [2i + 1] (rejected). */
    private readonly reference: Float32Array,
  ) {
    if (!(beta > 0 && Number.isFinite(beta))) throw new RangeError(`DPO beta must be a positive number, got ${beta}`);
    this.buffers = layoutDpoHead(allocator(model.ctx, this.owned), model.config, shape);
    this.P = shape.P;
  }

  rows(batch: DpoBatch): Uint32Array {
    return trainedRows(batch.targets);
  }

  weight(batch: DpoBatch): number {
    return batch.P;
  }

  forward(hidden: GPUBuffer, batch: DpoBatch, rows: Uint32Array, g: number): void {
    const { ctx } = this.model;
    const { logps, pairLosses, zeroMargins, log } = this.buffers;
    const { P } = batch;
    const head = this.seqLogp(g);
    ctx.write(head.targets, Int32Array.from(rows, (r) => batch.targets[r]));
    ctx.write(head.starts, sequenceStarts(rows, batch.T, 2 * P));
    ctx.write(this.buffers.reference[g], this.referenceOf(batch));
    seqLogpForward(this.model, head, hidden, rows.length, 2 * P);
    preferenceLossForward(ctx, pairLosses, logps, this.buffers.reference[g], zeroMargins, this.beta, P);
    ctx.copy(pairLosses, 0, log, g * 3 * this.P * 4, P * 4);
    ctx.copy(logps, 0, log, (g * 3 + 1) * this.P * 4, 2 * P * 4);
  }

  backward(dhidden: GPUBuffer, _hidden: GPUBuffer, batch: DpoBatch, g: number, step: DpoBatch[]): void {
    const { logps, dlogps, zeroMargins } = this.buffers;
    const pairs = step.reduce((a, b) => a + b.P, 0);
    preferenceLossBackward(this.model.ctx, dlogps, logps, this.buffers.reference[g], zeroMargins, this.beta, 1 / pairs, batch.P);
    seqLogpBackward(this.model, this.seqLogp(g), dhidden, batch.trainedTokens, 2 * batch.P);
  }

  async read(step: DpoBatch[]): Promise<StepMetrics> {
    const log = await this.readLog(step);
    let loss = 0;
    let chosen = 0;
    let rejected = 0;
    let correct = 0;
    let pairs = 0;
    step.forEach((batch, g) => {
      const { losses, logps } = log[g];
      const reference = this.referenceOf(batch);
      for (let p = 0; p < batch.P; p++) {
        const c = this.beta * (logps[p] - reference[p]);
        const r = this.beta * (logps[batch.P + p] - reference[batch.P + p]);
        loss += losses[p];
        chosen += c;
        rejected += r;
        correct += c > r ? 1 : 0;
      }
      pairs += batch.P;
    });
    return { loss: loss / pairs, accuracy: correct / pairs, chosenReward: chosen / pairs, rejectedReward: rejected / pairs, margin: (chosen - rejected) / pairs };
  }

  /** Records the sequence log-probs the step's forward pass wrote as the reference of its pairs. */
  async readReference(step: DpoBatch[]): Promise<void> {
    const log = await this.readLog(step);
    step.forEach((batch, g) => {
      batch.indices.forEach((index, p) => {
        this.reference[2 * index] = log[g].logps[p];
        this.reference[2 * index + 1] = log[g].logps[batch.P + p];
      });
    });
  }

  destroy(): void {
    for (const buffer of this.owned) buffer.destroy();
  }

  private async readLog(step: DpoBatch[]): Promise<{ losses: Float32Array; logps: Float32Array }[]> {
    const log = await this.model.ctx.readF32(this.buffers.log, step.length * 3 * this.P);
    return step.map((batch, g) => {
      const base = g * 3 * this.P;
      return { losses: log.subarray(base, base + batch.P), logps: log.subarray(base + this.P, base + this.P + 2 * batch.P) };
    });
  }

  /** The batch's reference log-probs in head order: chosen sequences, then rejected. */
  private referenceOf(batch: DpoBatch): Float32Array {
    const out = new Float32Array(2 * batch.P);
    batch.indices.forEach((index, p) => {
      out[p] = this.reference[2 * index];
      out[batch.P + p] = this.reference[2 * index + 1];
    });
    return out;
  }

  private seqLogp(g: number): SeqLogpBuffers {
    const { logits, dlogits, losses, dlosses, logps, dlogps, targets, starts } = this.buffers;
    return { logits, dlogits, losses, dlosses, logps, dlogps, targets: targets[g], starts: starts[g] };
  }
}

/** A DPO stepper and its head, whose reference table `reference` (2 * pairs) readReference fills. */
export function dpoStepper(model: ModelOnGpu, lora: GpuLora, shape: DpoShape, beta: number, reference: Float32Array): { stepper: Stepper<DpoBatch>; head: DpoHead } {
  const head = new DpoHead(model, shape, beta, reference);
  return { stepper: new Stepper(model, lora, head, shape), head };
}

/**
 * Fills the head's reference table from forward passes (no dropout) of `batches` under the stepper's adapter as it
 * stands: before the first step, the policy's adapter is the reference (B = 0 gives the base model exactly; a
 * copied SFT adapter gives that adapter frozen).
 */
export async function readReference({ stepper, head }: { stepper: Stepper<DpoBatch>; head: DpoHead }, batches: DpoBatch[]): Promise<void> {
  await stepper.forwardEach(batches, (group) => head.readReference(group));
}

/** Pairs numbered in their order: the index keys the reference table. */
export function indexPairs(pairs: PairExample[]): DpoExample[] {
  return pairs.map((pair, index) => ({ ...pair, margin: 0, index }));
}

/** Seeded shuffle, then batches of `batchSize` pairs, as the reward model's. */
export function makeDpoBatches(pairs: DpoExample[], batchSize: number, seed: number, padId: number): DpoBatch[] {
  return shuffledChunks(pairs, batchSize, seed).map((chunk) => dpoBatch(chunk, padId));
}

/** The pairs as one batch, in their order. */
export function dpoBatch(pairs: DpoExample[], padId: number): DpoBatch {
  return { ...pairBatch(pairs, padId), indices: Uint32Array.from(pairs, (p) => p.index) };
}

/** The shape a DPO stepper needs: the most tokens, labelled tokens and pairs of any one batch. */
export function dpoShape(batches: DpoBatch[], G: number): DpoShape {
  return {
    N: Math.max(1, ...batches.map((b) => b.B * b.T)),
    M: Math.max(1, ...batches.map((b) => b.trainedTokens)),
    P: Math.max(1, ...batches.map((b) => b.P)),
    G,
  };
}

/** starts (S + 1) over the ascending trained rows: sequence s (row s of the batch) owns the head rows whose token lies in [s * T, (s + 1) * T). */
function sequenceStarts(rows: Uint32Array, T: number, S: number): Uint32Array {
  const starts = new Uint32Array(S + 1);
  let m = 0;
  for (let s = 0; s <= S; s++) {
    while (m < rows.length && rows[m] < s * T) m++;
    starts[s] = m;
  }
  return starts;
}
