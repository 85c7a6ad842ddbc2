// The SFT run: epochs of length-grouped batches, gradient accumulation, cosine schedule with warmup,
// validation every k steps, checkpoints, a stop on NaN/inf, pause, and resume from a checkpoint.
import type { ModelOnGpu } from '../model/generate';
import { type Batch, type TrainExample, makeBatches, splitExamples } from './data';
import { initAdapter } from './init';
import { GpuLora, type LoraAdapter, type LoraSettings, type OptimizerState } from '../model/lora';
import { learningRate } from './schedule';
import { SftStepper } from './sft';

export interface SftSettings extends LoraSettings {
  lr: number;
  /** Epochs over the training split; ignored when `steps` is set. */
  epochs: number;
  /** Optimizer steps; 0 means "use epochs". */
  steps: number;
  batchSize: number;
  gradAccum: number;
  warmupRatio: number;
  weightDecay: number;
  maxGradNorm: number;
  beta1: number;
  beta2: number;
  eps: number;
  seed: number;
  valFraction: number;
  /** Read the training loss back every this many steps (the only readback). */
  logEvery: number;
  /** Validation loss every this many steps (0 = only at the end). */
  evalEvery: number;
  /** Checkpoint every this many steps (0 = only on pause and at the end). */
  checkpointEvery: number;
}

export const defaultSftSettings: SftSettings = {
  rank: 8,
  alpha: 16,
  dropout: 0.05,
  targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
  lr: 3e-4,
  epochs: 3,
  steps: 0,
  batchSize: 4,
  gradAccum: 1,
  warmupRatio: 0.03,
  weightDecay: 0,
  maxGradNorm: 1,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  seed: 42,
  valFraction: 0,
  logEvery: 1,
  evalEvery: 0,
  checkpointEvery: 0,
};

export interface TrainEvent {
  step: number; // optimizer steps done
  totalSteps: number;
  epoch: number; // fractional
  lr: number;
  loss?: number;
  valLoss?: number;
  tokensPerSecond?: number;
}

export interface Checkpoint {
  step: number;
  adapter: LoraAdapter;
  optimizer: OptimizerState;
}

export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
  constructor(step: number, loss: number) {
    super(`Training stopped at step ${step}: the loss became ${loss}. Lower the learning rate or enable gradient clipping, then resume from the last checkpoint.`);
  }
}

export interface SftRunOptions {
  baseModel: string;
  padId: number;
  onEvent?: (event: TrainEvent) => void;
  onCheckpoint?: (checkpoint: Checkpoint) => void | Promise<void>;
  /** Polled between steps; when true the run checkpoints and returns 'paused'. */
  shouldPause?: () => boolean;
  resume?: Checkpoint;
}

export interface SftResult {
  adapter: LoraAdapter;
  steps: number;
  status: 'finished' | 'paused';
  finalLoss: number | null;
  valLoss: number | null;
}

/** Optimizer steps a run over `examples` takes with `settings`. */
export function plannedSteps(trainExamples: number, settings: SftSettings): number {
  if (settings.steps > 0) return settings.steps;
  return settings.epochs * Math.ceil(Math.ceil(trainExamples / settings.batchSize) / settings.gradAccum);
}

export async function runSft(model: ModelOnGpu, examples: TrainExample[], settings: SftSettings, options: SftRunOptions): Promise<SftResult> {
  const { train, val } = splitExamples(examples, settings.valFraction, settings.seed);
  if (!train.length) throw new Error('The training split is empty: add rows or lower the validation fraction.');
  const totalSteps = plannedSteps(train.length, settings);
  const epochBatches = (epoch: number) => makeBatches(train, settings.batchSize, settings.seed + epoch, options.padId);
  const valBatches = val.length ? makeBatches(val, settings.batchSize, settings.seed, options.padId) : [];
  const maxTokens = Math.max(...[...epochBatches(0), ...valBatches].map((b) => b.B * b.T));

  const adapter = options.resume?.adapter ?? initAdapter(model.config, settings, options.baseModel, settings.seed);
  const lora = GpuLora.upload(model.ctx, adapter, options.resume?.optimizer);
  const stepper = new SftStepper(model, lora, maxTokens, settings.gradAccum);
  const optimizer = { beta1: settings.beta1, beta2: settings.beta2, eps: settings.eps, weightDecay: settings.weightDecay, maxGradNorm: settings.maxGradNorm };
  const checkpoint = async (step: number) => {
    if (options.onCheckpoint) await options.onCheckpoint({ step, adapter: await lora.download(), optimizer: await lora.downloadOptimizer() });
  };
  const validate = async () => (valBatches.length ? stepper.evalLoss(valBatches) : null);

  let step = options.resume?.step ?? 0;
  let finalLoss: number | null = null;
  let valLoss: number | null = null;
  try {
    // The data position is the step: batches of an epoch are a pure function of (seed, epoch).
    const perEpoch = Math.ceil(epochBatches(0).length / settings.gradAccum);
    let windowStart = performance.now();
    let windowTokens = 0;
    while (step < totalSteps) {
      if (options.shouldPause?.()) {
        await checkpoint(step);
        return { adapter: await lora.download(), steps: step, status: 'paused', finalLoss, valLoss };
      }
      const epoch = Math.floor(step / perEpoch);
      const batches = epochBatches(epoch);
      const first = (step % perEpoch) * settings.gradAccum;
      const micro: Batch[] = batches.slice(first, first + settings.gradAccum);
      const lr = learningRate(step, totalSteps, settings.lr, settings.warmupRatio);
      const readLoss = (step + 1) % settings.logEvery === 0 || step + 1 === totalSteps;
      const loss = await stepper.step(micro, lr, step + 1, optimizer, settings.seed * 100003 + step, readLoss);
      step++;
      windowTokens += micro.reduce((a, b) => a + b.tokens, 0);
      const event: TrainEvent = { step, totalSteps, epoch: step / perEpoch, lr };
      if (loss !== null) {
        if (!Number.isFinite(loss)) throw new TrainingDivergedError(step, loss);
        finalLoss = loss;
        const now = performance.now();
        event.loss = loss;
        event.tokensPerSecond = windowTokens / Math.max((now - windowStart) / 1000, 1e-9);
        windowStart = now;
        windowTokens = 0;
      }
      if ((settings.evalEvery > 0 && step % settings.evalEvery === 0) || step === totalSteps) {
        valLoss = await validate();
        if (valLoss !== null) event.valLoss = valLoss;
      }
      options.onEvent?.(event);
      if ((settings.checkpointEvery > 0 && step % settings.checkpointEvery === 0) || step === totalSteps) await checkpoint(step);
    }
    return { adapter: await lora.download(), steps: step, status: 'finished', finalLoss, valLoss };
  } finally {
    stepper.destroy();
    lora.destroy();
  }
}
