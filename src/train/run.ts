// Training runs (SFT, reward model and DPO alike): epochs of batches, gradient accumulation, cosine schedule with
// warmup, validation every k steps, checkpoints, a stop on NaN/inf, pause, and resume from a checkpoint. What
// differs between them is a RunKind: their examples, batches, head, adapter, and DPO's reference log-probs.
import type { ModelConfig } from '../model/config';
import type { ModelOnGpu } from '../model/forward';
import { GpuLora, type LoraAdapter, type LoraSettings, type OptimizerState } from '../model/lora';
import type { Make, MemoryPlan } from '../model/memory';
import { IGNORE_INDEX, type Batch, type TrainExample, makeBatches, splitExamples } from './data';
import { dpoShape, dpoStepper, indexPairs, layoutDpoHead, makeDpoBatches, readReference, type DpoBatch, type DpoExample, type DpoShape } from './dpo';
import { initAdapter, initScore } from './init';
import { makePairBatches, type PairBatch, type PairExample } from './pairs';
import { layoutRewardHead, pairShape, rewardStepper } from './reward';
import { learningRate } from './schedule';
import { layoutSftHead, sftShape, sftStepper } from './sft';
import { planTrainingRun, type GradientCheckpointing, type StepBatch, type StepMetrics, type StepShape, type Stepper, type TrainingPlan } from './stepper';

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
  /** Recompute each layer's activations in backward instead of keeping them ('auto': when the run would not fit). */
  gradientCheckpointing: GradientCheckpointing;
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
  gradientCheckpointing: 'auto',
};

/** A reward model run's settings: SFT's, plus whether pairs keep their score gap as a margin. */
export interface RewardSettings extends SftSettings {
  margin: boolean;
}

/** Reward models train for one epoch at a lower learning rate (as TRL's reward examples do), without dropout. */
export const defaultRewardSettings: RewardSettings = { ...defaultSftSettings, lr: 1e-4, epochs: 1, dropout: 0, margin: false };

/** A DPO run's settings: SFT's, plus beta, how strongly the policy is held to the reference. */
export interface DpoSettings extends SftSettings {
  beta: number;
}

/** DPO with LoRA: one epoch, beta 0.1 as in TRL's DPOConfig, a learning rate between its full-model one and SFT's. */
export const defaultDpoSettings: DpoSettings = { ...defaultSftSettings, lr: 5e-5, epochs: 1, beta: 0.1 };

export interface TrainEvent {
  step: number; // optimizer steps done
  totalSteps: number;
  epoch: number; // fractional
  lr: number;
  loss?: number;
  valLoss?: number;
  tokensPerSecond?: number;
  /** Reward model and DPO: share of pairs whose chosen reward is higher, and the mean reward margin. */
  accuracy?: number;
  margin?: number;
  valAccuracy?: number;
  valMargin?: number;
  /** Reward model and DPO: the held-out pairs valAccuracy is over (for its interval). */
  valPairs?: number;
  /** DPO: the mean implicit rewards beta * (log pi - log ref) of the chosen and the rejected responses. */
  chosenReward?: number;
  rejectedReward?: number;
  valChosenReward?: number;
  valRejectedReward?: number;
}

export interface Checkpoint {
  step: number;
  adapter: LoraAdapter;
  optimizer: OptimizerState;
  /** DPO: every pair's reference log-probs, pair i's chosen at [2i] and rejected at [2i + 1], read before step 1. */
  reference?: Float32Array;
}

export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
  constructor(step: number, loss: number) {
    super(`Training stopped at step ${step}: the loss became ${loss}. Lower the learning rate or enable gradient clipping, then resume from the last checkpoint.`);
  }
}

export interface RunOptions {
  baseModel: string;
  padId: number;
  onEvent?: (event: TrainEvent) => void;
  onCheckpoint?: (checkpoint: Checkpoint) => void | Promise<void>;
  /** Polled between steps; when true the run checkpoints and returns 'paused'. */
  shouldPause?: () => boolean;
  resume?: Checkpoint;
  /** Sees the run's memory plan (and whether it recomputes activations) before anything is allocated; throws to refuse it. */
  checkMemory?: (plan: MemoryPlan, recompute: boolean) => void;
  /** Whether a plan fits the GPU: decides gradient checkpointing 'auto' (without it, a run keeps its activations). */
  fitsMemory?: (plan: MemoryPlan) => boolean;
  /** Throws when the GPU is gone; called before each step (a lost device's submits fail silently). */
  checkDevice?: () => void;
}

export interface SftResult {
  adapter: LoraAdapter;
  steps: number;
  status: 'finished' | 'paused';
  finalLoss: number | null;
  valLoss: number | null;
}

/** What differs between SFT, reward model and DPO runs. */
interface RunKind<TExample, TBatch extends StepBatch, TShape extends StepShape = StepShape> {
  batches(examples: TExample[], batchSize: number, seed: number, padId: number): TBatch[];
  shape(batches: TBatch[], G: number): TShape;
  layoutHead(make: Make<number>, config: ModelConfig, shape: TShape): unknown;
  stepper(model: ModelOnGpu, lora: GpuLora, shape: TShape): Stepper<TBatch>;
  init(config: ModelConfig, settings: LoraSettings, baseModel: string, seed: number): LoraAdapter;
  /** Before the first step of a new run, on its stepper: `batches` hold every example once. */
  prepare?(batches: TBatch[]): Promise<void>;
  /** What the run's checkpoints carry besides the adapter and optimizer. */
  saved?(): Partial<Checkpoint>;
  /** Pairs in a batch, for heads scored on pairs: a validation accuracy's interval needs how many it is over. */
  pairs?(batch: TBatch): number;
}

const sftKind: RunKind<TrainExample, Batch> = {
  batches: makeBatches,
  shape: sftShape,
  layoutHead: layoutSftHead,
  stepper: sftStepper,
  init: initAdapter,
};

const rewardKind: RunKind<PairExample, PairBatch> = {
  batches: makePairBatches,
  shape: pairShape,
  layoutHead: layoutRewardHead,
  stepper: rewardStepper,
  init: (config, settings, baseModel, seed) => ({ ...initAdapter(config, settings, baseModel, seed), score: initScore(config, seed) }),
  pairs: (batch) => batch.P,
};

/**
 * DPO: the policy starts as `start` (an SFT adapter, copied) or a fresh adapter (B = 0, so the base model), and
 * the reference is that same starting point, so its log-probs are read on the run's own stepper before step 1.
 * `reference` is the run's table of them, filled then or restored from a checkpoint.
 */
function dpoKind(settings: DpoSettings, start: LoraAdapter | undefined, reference: Float32Array): RunKind<DpoExample, DpoBatch, DpoShape> {
  let made: ReturnType<typeof dpoStepper> | null = null;
  return {
    batches: makeDpoBatches,
    shape: dpoShape,
    layoutHead: layoutDpoHead,
    stepper: (model, lora, shape) => {
      made = dpoStepper(model, lora, shape, settings.beta, reference);
      return made.stepper;
    },
    init: (config, lora, baseModel, seed) => (start ? { ...start, dropout: lora.dropout, score: undefined } : initAdapter(config, lora, baseModel, seed)),
    prepare: (batches) => readReference(made!, batches),
    saved: () => ({ reference: reference.slice() }),
    pairs: (batch) => batch.P,
  };
}

/** Optimizer steps a run over `examples` takes with `settings`. */
export function plannedSteps(trainExamples: number, settings: SftSettings): number {
  if (settings.steps > 0) return settings.steps;
  return settings.epochs * Math.ceil(Math.ceil(trainExamples / settings.batchSize) / settings.gradAccum);
}

/** The batches of a run: every epoch's (a pure function of seed and epoch) and the validation batches. */
function runBatches<TExample, TBatch extends StepBatch, TShape extends StepShape>(kind: RunKind<TExample, TBatch, TShape>, examples: TExample[], settings: SftSettings, padId: number) {
  const { train, val } = splitExamples(examples, settings.valFraction, settings.seed);
  if (!train.length) throw new Error('The training split is empty: add rows or lower the validation fraction.');
  const totalSteps = plannedSteps(train.length, settings);
  let cached: { epoch: number; batches: TBatch[] } | null = null;
  const epochBatches = (epoch: number) => {
    if (cached?.epoch !== epoch) cached = { epoch, batches: kind.batches(train, settings.batchSize, settings.seed + epoch, padId) };
    return cached.batches;
  };
  const valBatches = val.length ? kind.batches(val, settings.batchSize, settings.seed, padId) : [];
  const perEpoch = Math.ceil(epochBatches(0).length / settings.gradAccum);
  // The stepper is sized for the largest batch of ANY epoch the run reaches: each epoch groups rows anew.
  const epochs = Math.ceil(totalSteps / perEpoch);
  const shape = kind.shape([...Array.from({ length: epochs }, (_, e) => epochBatches(e)).flat(), ...valBatches], settings.gradAccum);
  return { totalSteps, epochBatches, valBatches, perEpoch, shape };
}

/** The batches of an SFT run (exported for the planning tests). */
export function sftBatches(examples: TrainExample[], settings: SftSettings, padId: number) {
  return runBatches(sftKind, examples, settings, padId);
}

/** `fits` decides gradient checkpointing 'auto'; without it the run is taken to fit. */
type Fits = (plan: MemoryPlan) => boolean;

function planShape<TExample, TBatch extends StepBatch, TShape extends StepShape>(kind: RunKind<TExample, TBatch, TShape>, config: ModelConfig, settings: SftSettings, shape: TShape, fits: Fits = () => true): TrainingPlan {
  // Runs stored before the setting existed have none: they get the default.
  const checkpointing = settings.gradientCheckpointing ?? defaultSftSettings.gradientCheckpointing;
  return planTrainingRun(config, settings, shape, (make) => kind.layoutHead(make, config, shape), checkpointing, fits);
}

/** The GPU memory of an SFT run over `examples` beyond the model's weights. */
export function planSft(config: ModelConfig, examples: TrainExample[], settings: SftSettings, padId: number, fits?: Fits): TrainingPlan {
  return planShape(sftKind, config, settings, runBatches(sftKind, examples, settings, padId).shape, fits);
}

/** The GPU memory of a reward model run over `pairs` beyond the model's weights. */
export function planReward(config: ModelConfig, pairs: PairExample[], settings: RewardSettings, padId: number, fits?: Fits): TrainingPlan {
  return planShape(rewardKind, config, settings, runBatches(rewardKind, pairs, settings, padId).shape, fits);
}

/** The GPU memory of a DPO run over `pairs` beyond the model's weights; `start` sets the adapter's shape. */
export function planDpo(config: ModelConfig, pairs: PairExample[], settings: DpoSettings, padId: number, start?: LoraAdapter, fits?: Fits): TrainingPlan {
  const run = dpoRun(pairs, settings, start);
  const kind = dpoKind(run.settings, start, new Float32Array(0));
  return planShape(kind, config, run.settings, runBatches(kind, run.examples, run.settings, padId).shape, fits);
}

export function runSft(model: ModelOnGpu, examples: TrainExample[], settings: SftSettings, options: RunOptions): Promise<SftResult> {
  return runTraining(model, sftKind, examples, settings, options);
}

/** A reward model: LoRA and a score head trained on preference pairs (-log sigmoid(r_chosen - r_rejected)). */
export function runReward(model: ModelOnGpu, pairs: PairExample[], settings: RewardSettings, options: RunOptions): Promise<SftResult> {
  const withMargins = settings.margin ? pairs : pairs.map((p) => ({ ...p, margin: 0 }));
  return runTraining(model, rewardKind, withMargins, settings, options);
}

/**
 * DPO on preference pairs: the policy (a fresh adapter, or a copy of `start`) against the reference it starts
 * as. Pairs with a side that has no trained token carry no signal and are left out. A resumed run takes the
 * reference log-probs from its checkpoint.
 */
export async function runDpo(model: ModelOnGpu, pairs: PairExample[], settings: DpoSettings, options: RunOptions & { start?: LoraAdapter }): Promise<SftResult> {
  const run = dpoRun(pairs, settings, options.start);
  if (options.resume && options.resume.reference?.length !== 2 * run.examples.length) {
    throw new Error('This checkpoint has no reference log-probs for these pairs, so the DPO run cannot resume from it: start the run again.');
  }
  const reference = options.resume?.reference?.slice() ?? new Float32Array(2 * run.examples.length);
  return runTraining(model, dpoKind(run.settings, options.start, reference), run.examples, run.settings, options);
}

/** A DPO run's pairs (those with a trained token on each side, numbered) and settings (the start adapter's shape). */
function dpoRun(pairs: PairExample[], settings: DpoSettings, start: LoraAdapter | undefined) {
  const trained = (labels: number[]) => labels.slice(1).some((label) => label !== IGNORE_INDEX);
  const usable = pairs.filter((p) => trained(p.chosen.labels) && trained(p.rejected.labels));
  if (!usable.length) throw new Error('No pair has a trained (response) token on both sides: raise the max length or check the data.');
  const shaped = start ? { ...settings, rank: start.rank, alpha: start.alpha, targets: start.targets } : settings;
  return { examples: indexPairs(usable), settings: shaped };
}

async function runTraining<TExample, TBatch extends StepBatch, TShape extends StepShape>(
  model: ModelOnGpu,
  kind: RunKind<TExample, TBatch, TShape>,
  examples: TExample[],
  settings: SftSettings,
  options: RunOptions,
): Promise<SftResult> {
  const { totalSteps, epochBatches, valBatches, perEpoch, shape } = runBatches(kind, examples, settings, options.padId);
  const planned = planShape(kind, model.config, settings, shape, options.fitsMemory);
  options.checkMemory?.(planned.plan, planned.recompute);

  const adapter = options.resume?.adapter ?? kind.init(model.config, settings, options.baseModel, settings.seed);
  const lora = GpuLora.upload(model.ctx, adapter, options.resume?.optimizer);
  const stepper = kind.stepper(model, lora, { ...shape, recompute: planned.recompute });
  const optimizer = { beta1: settings.beta1, beta2: settings.beta2, eps: settings.eps, weightDecay: settings.weightDecay, maxGradNorm: settings.maxGradNorm };
  const checkpoint = async (step: number) => {
    if (options.onCheckpoint) await options.onCheckpoint({ step, adapter: await lora.download(), optimizer: await lora.downloadOptimizer(), ...kind.saved?.() });
  };
  const validate = async () => (valBatches.length ? stepper.evaluate(valBatches) : null);
  const valPairs = kind.pairs && valBatches.reduce((n, b) => n + kind.pairs!(b), 0);

  let step = options.resume?.step ?? 0;
  let finalLoss: number | null = null;
  let valLoss: number | null = null;
  try {
    if (!options.resume) await kind.prepare?.([...epochBatches(0), ...valBatches]);
    // The data position is the step: batches of an epoch are a pure function of (seed, epoch).
    let windowStart = performance.now();
    let windowTokens = 0;
    while (step < totalSteps) {
      options.checkDevice?.();
      if (options.shouldPause?.()) {
        await checkpoint(step);
        return { adapter: await lora.download(), steps: step, status: 'paused', finalLoss, valLoss };
      }
      const epoch = Math.floor(step / perEpoch);
      const batches = epochBatches(epoch);
      const first = (step % perEpoch) * settings.gradAccum;
      const micro = batches.slice(first, first + settings.gradAccum);
      const lr = learningRate(step, totalSteps, settings.lr, settings.warmupRatio);
      const readLoss = (step + 1) % settings.logEvery === 0 || step + 1 === totalSteps;
      const metrics = await stepper.step(micro, lr, step + 1, optimizer, settings.seed * 100003 + step, readLoss);
      step++;
      windowTokens += micro.reduce((a, b) => a + b.tokens, 0);
      const event: TrainEvent = { step, totalSteps, epoch: step / perEpoch, lr };
      if (metrics) {
        if (!Number.isFinite(metrics.loss)) throw new TrainingDivergedError(step, metrics.loss);
        finalLoss = metrics.loss;
        const now = performance.now();
        Object.assign(event, metrics);
        event.tokensPerSecond = windowTokens / Math.max((now - windowStart) / 1000, 1e-9);
        windowStart = now;
        windowTokens = 0;
      }
      if ((settings.evalEvery > 0 && step % settings.evalEvery === 0) || step === totalSteps) {
        const val = await validate();
        if (val) {
          valLoss = val.loss;
          Object.assign(event, validationFields(val), valPairs ? { valPairs } : {});
        }
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

/** Validation metrics under the event's names: loss -> valLoss, accuracy -> valAccuracy... */
function validationFields(metrics: StepMetrics): Partial<TrainEvent> {
  return Object.fromEntries(Object.entries(metrics).map(([key, value]) => [`val${key[0].toUpperCase()}${key.slice(1)}`, value]));
}
