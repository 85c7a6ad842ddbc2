// The ONE training stepper: the model's forward walk with saved activations, a head (cross-entropy for SFT, a
// pairwise loss over rewards for a reward model), backward through every layer into the LoRA gradients (and a
// reward model's score), global-norm clipping and AdamW, all recorded into ONE submit. Nothing is read
// back inside a step except, when asked, the head's loss terms. With gradient checkpointing the forward walk keeps
// only each layer's input and backward recomputes the rest, layer by layer, in the same submit.
// Dimension letters: G micro-batches per step, N = B*T tokens of a micro-batch, M head rows, R LoRA rank.
import { adamwStep, globalNormSquared } from '../kernels/adamw';
import { backward, layoutGradients, type Gradients } from '../model/backward';
import type { ModelConfig } from '../model/config';
import { forward, layoutActivations, selfCache, type Activations, type Dropout, type ModelOnGpu, type PassInputs } from '../model/forward';
import type { GpuLora, LoraSettings } from '../model/lora';
import { allocator, MemoryPlan, planLora, planner, type Make } from '../model/memory';

export interface OptimizerSettings {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global gradient-norm clip; 0 turns clipping off. */
  maxGradNorm: number;
}

/** The token part of a micro-batch, whatever the head reads besides. */
export interface StepBatch {
  B: number;
  T: number;
  inputIds: Uint32Array; // (B, T)
  tokens: number; // real (unpadded) tokens
}

/** What a step reads back: its mean loss, and any other metric of the head (pairwise accuracy, reward margin). */
export interface StepMetrics {
  loss: number;
  [metric: string]: number;
}

/** The largest shapes a stepper must hold: over every batch of every epoch and the validation batches. */
export interface StepShape {
  N: number; // tokens of a micro-batch
  M: number; // head rows of a micro-batch
  G: number; // micro-batches per step
  /** Gradient checkpointing: keep each layer's input only and recompute its activations in backward (absent: off). */
  recompute?: boolean;
}

/**
 * Gradient checkpointing as a run asks for it: 'on' always recomputes, 'off' keeps every layer's activations, 'auto'
 * recomputes only when the run would not fit in GPU memory otherwise.
 */
export type GradientCheckpointing = 'auto' | 'on' | 'off';

export const gradientCheckpointingModes: readonly GradientCheckpointing[] = ['auto', 'on', 'off'];

/** A training run's memory plan, whether it recomputes activations, and its activation bytes either way. */
export interface TrainingPlan {
  plan: MemoryPlan;
  recompute: boolean;
  activationBytes: { recomputed: number; kept: number };
}

export interface TrainingHead<TBatch extends StepBatch> {
  /** The token rows (of B*T, ascending) whose final hidden states the head reads. */
  rows(batch: TBatch): Uint32Array;
  /** Uploads micro-batch g's head inputs and records its forward over `rows` (from rows()); `step` is every micro-batch of the step. */
  forward(hidden: GPUBuffer, batch: TBatch, rows: Uint32Array, g: number, step: TBatch[]): void;
  /** Records d(step loss)/d hidden into dhidden (zeroed by the stepper), and the gradient of a score it reads. */
  backward(dhidden: GPUBuffer, hidden: GPUBuffer, batch: TBatch, g: number, step: TBatch[]): void;
  /** The step's mean loss (and metrics) from what its micro-batches recorded (submits and reads back). */
  read(step: TBatch[]): Promise<StepMetrics>;
  /** The weight a micro-batch's metrics carry when averaging over several (trained tokens, pairs). */
  weight(batch: TBatch): number;
  destroy(): void;
}

/** Inputs of one micro-batch; each micro-batch of a step has its own so all can share one submit. */
interface BatchInputs<Buf> {
  ids: Buf; // u32 (N)
  positions: Buf; // u32 (N) = t of each token
  headRows: Buf; // u32 (M)
}

interface StepperBuffers<Buf> {
  acts: Activations<Buf>;
  grads: Gradients<Buf>;
  inputs: BatchInputs<Buf>[]; // (G)
  validFrom: Buf; // u32 (N) zeros: no left padding in training
  normSq: Buf; // (1) squared global gradient norm
}

function layoutStepper<Buf>(make: Make<Buf>, config: ModelConfig, lora: Pick<LoraSettings, 'rank' | 'targets'>, shape: StepShape): StepperBuffers<Buf> {
  const { N, M, G } = shape;
  return {
    acts: layoutActivations(make, config, N, M, lora, true, shape.recompute ?? false),
    grads: layoutGradients(make, config, N, M, lora.rank),
    inputs: Array.from({ length: G }, (_, g) => ({
      ids: make('inputs', `ids ${g}`, N * 4),
      positions: make('inputs', `positions ${g}`, N * 4),
      headRows: make('inputs', `head rows ${g}`, M * 4),
    })),
    validFrom: make('inputs', 'validFrom', N * 4),
    normSq: make('gradients', 'grad norm squared', 4),
  };
}

/** Adds a training run's buffers (adapter with gradients and moments, activations, gradients, inputs, head). */
export function planTraining(plan: MemoryPlan, config: ModelConfig, lora: Pick<LoraSettings, 'rank' | 'targets'>, shape: StepShape, layoutHead: (make: Make<number>) => unknown): void {
  planLora(plan, config, lora, true);
  layoutStepper(planner(plan), config, lora, shape);
  layoutHead(planner(plan));
}

/**
 * A training run planned with and without gradient checkpointing; `fits` says whether a plan fits what the GPU
 * holds besides, and decides 'auto'.
 */
export function planTrainingRun(
  config: ModelConfig,
  lora: Pick<LoraSettings, 'rank' | 'targets'>,
  shape: StepShape,
  layoutHead: (make: Make<number>) => unknown,
  checkpointing: GradientCheckpointing,
  fits: (plan: MemoryPlan) => boolean,
): TrainingPlan {
  const planned = (recompute: boolean) => {
    const plan = new MemoryPlan();
    planTraining(plan, config, lora, { ...shape, recompute }, layoutHead);
    return plan;
  };
  const kept = planned(false);
  const recomputed = planned(true);
  const recompute = checkpointing === 'on' || (checkpointing === 'auto' && !fits(kept));
  const activations = (plan: MemoryPlan) => plan.byGroup().activations ?? 0;
  return { plan: recompute ? recomputed : kept, recompute, activationBytes: { recomputed: activations(recomputed), kept: activations(kept) } };
}

export class Stepper<TBatch extends StepBatch> {
  private readonly buffers: StepperBuffers<GPUBuffer>;
  private readonly owned: GPUBuffer[] = [];

  constructor(
    private readonly model: ModelOnGpu,
    private readonly lora: GpuLora,
    private readonly head: TrainingHead<TBatch>,
    private readonly shape: StepShape,
  ) {
    this.buffers = layoutStepper(allocator(model.ctx, this.owned), model.config, lora.adapter, shape);
  }

  /**
   * One optimizer step over `microBatches` (gradient accumulation). `step` counts optimizer steps from 1. With
   * `readLoss`, resolves to the step's metrics (measured before the update), else null.
   */
  async step(microBatches: TBatch[], lr: number, step: number, opt: OptimizerSettings, dropoutSeed: number, readLoss: boolean): Promise<StepMetrics | null> {
    this.record(microBatches, true, { p: this.lora.adapter.dropout, seed: dropoutSeed });
    this.optimizerStep(lr, step, opt);
    if (!readLoss) {
      this.model.ctx.submit();
      return null;
    }
    return this.head.read(microBatches);
  }

  /** Metrics of `batches` with no update (validation), each micro-batch weighted by the head. */
  async evaluate(batches: TBatch[]): Promise<StepMetrics> {
    const sums: Record<string, number> = {};
    let weight = 0;
    await this.forwardEach(batches, async (group) => {
      const w = group.reduce((a, b) => a + this.head.weight(b), 0);
      for (const [key, value] of Object.entries(await this.head.read(group))) sums[key] = (sums[key] ?? 0) + value * w;
      weight += w;
    });
    const mean = (key: string) => (weight ? sums[key] / weight : NaN);
    return Object.fromEntries(Object.keys(sums).map((key) => [key, mean(key)])) as StepMetrics;
  }

  /** Forward passes (no dropout, no update) over `batches`, G micro-batches at a time, each group then read by `read`. */
  async forwardEach(batches: TBatch[], read: (group: TBatch[]) => Promise<void>): Promise<void> {
    for (let i = 0; i < batches.length; i += this.shape.G) {
      const group = batches.slice(i, i + this.shape.G);
      this.record(group, false, null);
      await read(group);
    }
  }

  /** Metrics and gradients (left in the adapter's and head's gradient buffers) of micro-batches, no dropout, no update. */
  async gradients(batches: TBatch[]): Promise<StepMetrics> {
    this.record(batches, true, null);
    return this.head.read(batches);
  }

  /** Frees the stepper's buffers and its head's. */
  destroy(): void {
    for (const buffer of this.owned) buffer.destroy();
    this.head.destroy();
  }

  private record(batches: TBatch[], withBackward: boolean, dropout: Dropout | null): void {
    const { ctx } = this.model;
    const { acts, grads, inputs, validFrom } = this.buffers;
    if (batches.length > this.shape.G) throw new Error(`${batches.length} micro-batches exceed the ${this.shape.G} planned`);
    if (withBackward) this.lora.clearGradients();
    batches.forEach((batch, g) => {
      const rows = this.head.rows(batch);
      const N = batch.B * batch.T;
      if (N > this.shape.N || rows.length > this.shape.M) {
        throw new Error(`a batch of ${batch.B} x ${batch.T} tokens and ${rows.length} head rows exceeds the ${this.shape.N} and ${this.shape.M} planned`);
      }
      // A micro-batch the head reads nothing of adds no loss and no gradient.
      if (rows.length === 0) return;
      const io = inputs[g];
      ctx.write(io.ids, batch.inputIds);
      ctx.write(io.positions, Uint32Array.from({ length: N }, (_, i) => i % batch.T));
      ctx.write(io.headRows, rows);
      const pass: PassInputs = { B: batch.B, T: batch.T, start: 0, ids: io.ids, positions: io.positions, validFrom, headRows: io.headRows, M: rows.length };
      // Each micro-batch draws its own dropout masks.
      const drop = dropout && { p: dropout.p, seed: (dropout.seed * 7919 + g * 104729) >>> 0 };
      forward(this.model, this.lora, acts, selfCache(acts, batch.B, batch.T), pass, drop);
      this.head.forward(acts.hidden, batch, rows, g, batches);
      if (withBackward) {
        ctx.clear(grads.dhidden);
        this.head.backward(grads.dhidden, acts.hidden, batch, g, batches);
        backward(this.model, this.lora, acts, grads, pass, drop);
      }
    });
  }

  private optimizerStep(lr: number, step: number, opt: OptimizerSettings): void {
    const { ctx } = this.model;
    const { normSq } = this.buffers;
    const tensors = this.lora.tensors();
    ctx.clear(normSq);
    for (const t of tensors) globalNormSquared(ctx, normSq, t.grad, t.count);
    for (const t of tensors) {
      adamwStep(ctx, t.param, t.m, t.v, t.grad, normSq, t.count, lr, opt.beta1, opt.beta2, opt.eps, opt.weightDecay, step, opt.maxGradNorm);
    }
  }
}
