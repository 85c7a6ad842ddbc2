// The Train page's hyperparameter form: presets, field values as typed, a message per invalid field, and the
// SftSettings (RewardSettings for a reward model, DpoSettings for DPO) they make. Kept apart from the run state so a run's settings can
// be loaded back into it. The page keeps one form per mode, each with its own defaults and presets.
import { loraTargets, type LoraTarget } from '../../model/lora';
import { defaultDpoSettings, defaultSftSettings, type DpoSettings, type RewardSettings, type SftSettings } from '../../train/run';
import type { GradientCheckpointing } from '../../train/stepper';

export type LengthMode = 'epochs' | 'steps';

/** Numeric fields of the form, in the order the page shows them. */
export const numericFields = [
  'rank',
  'alpha',
  'dropout',
  'lr',
  'epochs',
  'steps',
  'batchSize',
  'gradAccum',
  'maxLen',
  'warmupRatio',
  'weightDecay',
  'maxGradNorm',
  'seed',
  'valFraction',
  'logEvery',
  'evalEvery',
  'checkpointEvery',
  'beta',
] as const;
export type NumericField = (typeof numericFields)[number];
export type FormField = NumericField | 'targets';

export interface FormValues extends Record<NumericField, number> {
  targets: LoraTarget[];
  lengthMode: LengthMode;
  trainOnInputs: boolean;
  /** Reward model: pairs keep their score difference as the margin the chosen reward must win by. */
  margin: boolean;
  /** Recompute each layer's activations in the backward pass: 'auto' only when keeping them would not fit. */
  gradientCheckpointing: GradientCheckpointing;
}

export interface Preset {
  id: string;
  label: string;
  values: Partial<FormValues>;
}

/**
 * alpaca-lora's recipes: r 8 on q/v (its defaults: alpha 16, dropout 0.05, lr 3e-4, 3 epochs, batch 128 as
 * micro-batches of 4, cutoff 256) and r 16 on q/k/v/o (its published weights: cutoff 512, micro-batch 8).
 */
export const sftPresets: Preset[] = [
  {
    id: 'alpaca-lora-r8',
    label: 'alpaca-lora: r 8, q/v',
    values: { rank: 8, alpha: 16, dropout: 0.05, targets: ['q_proj', 'v_proj'], lr: 3e-4, lengthMode: 'epochs', epochs: 3, batchSize: 4, gradAccum: 32, maxLen: 256, warmupRatio: 0.03, weightDecay: 0 },
  },
  {
    id: 'alpaca-lora-r16',
    label: 'alpaca-lora: r 16, q/k/v/o',
    values: { rank: 16, alpha: 16, dropout: 0.05, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], lr: 3e-4, lengthMode: 'epochs', epochs: 3, batchSize: 8, gradAccum: 16, maxLen: 512, warmupRatio: 0.03, weightDecay: 0 },
  },
];

export const defaultFormValues: FormValues = {
  ...defaultSftSettings,
  targets: [...defaultSftSettings.targets],
  lengthMode: 'epochs',
  steps: 100,
  maxLen: 256,
  trainOnInputs: false,
  margin: false,
  beta: defaultDpoSettings.beta,
};

/**
 * A reward model's defaults: LoRA r 8 on q/k/v/o with a lower learning rate than SFT (1e-4, TRL's LoRA reward
 * recipe), one epoch over the pairs (more overfits preference data), 4 pairs a batch, and a tenth of the pairs
 * held out so validation pairwise accuracy is charted every 25 steps.
 */
export const defaultRewardFormValues: FormValues = {
  ...defaultFormValues,
  targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
  lr: 1e-4,
  epochs: 1,
  batchSize: 4,
  gradAccum: 1,
  valFraction: 0.1,
  evalEvery: 25,
};

/**
 * Reward model recipes: the defaults above, and TRL's examples/scripts/reward_modeling.py with --use_peft (lr 1e-4,
 * batch 8, 1 epoch, r 32, alpha 16, on PEFT's default q/v targets for Llama, validation every 50 steps).
 */
export const rewardPresets: Preset[] = [
  {
    id: 'reward-r8',
    label: 'Reward model: r 8, q/k/v/o, lr 1e-4',
    values: { rank: 8, alpha: 16, dropout: 0.05, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], lr: 1e-4, lengthMode: 'epochs', epochs: 1, batchSize: 4, gradAccum: 1, warmupRatio: 0.03, weightDecay: 0 },
  },
  {
    id: 'trl-reward-lora',
    label: 'TRL reward_modeling: r 32, q/v',
    values: { rank: 32, alpha: 16, dropout: 0.05, targets: ['q_proj', 'v_proj'], lr: 1e-4, lengthMode: 'epochs', epochs: 1, batchSize: 8, gradAccum: 1, warmupRatio: 0, weightDecay: 0, evalEvery: 50 },
  },
];

/**
 * DPO's defaults (defaultDpoSettings: beta 0.1 as TRL's DPOConfig, lr 5e-5, one epoch) with the reward model's
 * LoRA on q/k/v/o, 4 pairs a batch and a tenth of the pairs held out, so validation reward accuracy is charted.
 */
export const defaultDpoFormValues: FormValues = {
  ...defaultRewardFormValues,
  lr: defaultDpoSettings.lr,
  epochs: defaultDpoSettings.epochs,
  beta: defaultDpoSettings.beta,
};

/** DPO recipes: the defaults above, and a stronger pull from the reference (beta 0.5) for small pair sets. */
export const dpoPresets: Preset[] = [
  {
    id: 'dpo-r8',
    label: 'DPO: r 8, q/k/v/o, beta 0.1',
    values: { rank: 8, alpha: 16, dropout: 0.05, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], lr: 5e-5, lengthMode: 'epochs', epochs: 1, batchSize: 4, gradAccum: 1, beta: 0.1 },
  },
  {
    id: 'dpo-conservative',
    label: 'DPO: beta 0.5, lr 1e-5',
    values: { lr: 1e-5, lengthMode: 'epochs', epochs: 1, beta: 0.5 },
  },
];

/** The field's rule: integer or not, and its bounds (a bound in parentheses is excluded). */
interface Rule {
  label: string;
  integer?: boolean;
  min: number;
  max: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
}

const rules: Record<NumericField, Rule> = {
  rank: { label: 'Rank', integer: true, min: 1, max: 1024 },
  alpha: { label: 'Alpha', min: 0, max: 1e6, minExclusive: true },
  dropout: { label: 'Dropout', min: 0, max: 1, maxExclusive: true },
  lr: { label: 'Learning rate', min: 0, max: 1, minExclusive: true },
  epochs: { label: 'Epochs', integer: true, min: 1, max: 1000 },
  steps: { label: 'Steps', integer: true, min: 1, max: 1e7 },
  batchSize: { label: 'Batch size', integer: true, min: 1, max: 4096 },
  gradAccum: { label: 'Gradient accumulation', integer: true, min: 1, max: 4096 },
  maxLen: { label: 'Max length', integer: true, min: 2, max: 1e6 },
  warmupRatio: { label: 'Warmup ratio', min: 0, max: 1 },
  weightDecay: { label: 'Weight decay', min: 0, max: 10 },
  maxGradNorm: { label: 'Max gradient norm', min: 0, max: 1e6, minExclusive: true },
  seed: { label: 'Seed', integer: true, min: 0, max: 2 ** 31 - 1 },
  valFraction: { label: 'Validation fraction', min: 0, max: 1, maxExclusive: true },
  logEvery: { label: 'Log every', integer: true, min: 1, max: 1e6 },
  evalEvery: { label: 'Validate every', integer: true, min: 0, max: 1e6 },
  checkpointEvery: { label: 'Checkpoint every', integer: true, min: 0, max: 1e6 },
  beta: { label: 'Beta', min: 0, max: 1000, minExclusive: true },
};

export function fieldLabel(field: NumericField): string {
  return rules[field].label;
}

function checkNumber(rule: Rule, value: number): string | null {
  const range = `${rule.minExclusive ? 'above' : 'from'} ${rule.min} ${rule.maxExclusive ? 'up to, not including,' : 'to'} ${rule.max}`;
  const what = rule.integer ? 'a whole number' : 'a number';
  if (typeof value !== 'number' || !Number.isFinite(value)) return `${rule.label} must be ${what} ${range}.`;
  if (rule.integer && !Number.isInteger(value)) return `${rule.label} must be ${what} ${range}.`;
  const low = rule.minExclusive ? value <= rule.min : value < rule.min;
  const high = rule.maxExclusive ? value >= rule.max : value > rule.max;
  return low || high ? `${rule.label} must be ${what} ${range}.` : null;
}

/** A message per invalid field; `maxPositions` is the loaded model's context (max length may not exceed it). */
export function validateForm(values: FormValues, maxPositions: number | null): Partial<Record<FormField, string>> {
  const errors: Partial<Record<FormField, string>> = {};
  for (const field of numericFields) {
    if (field === 'epochs' && values.lengthMode !== 'epochs') continue;
    if (field === 'steps' && values.lengthMode !== 'steps') continue;
    const message = checkNumber(rules[field], values[field]);
    if (message) errors[field] = message;
  }
  if (!errors.maxLen && maxPositions !== null && values.maxLen > maxPositions) {
    errors.maxLen = `Max length must not exceed the model's context of ${maxPositions} tokens.`;
  }
  if (!values.targets.length) errors.targets = 'Pick at least one target module.';
  return errors;
}

export function toSettings(values: FormValues): SftSettings {
  return {
    ...defaultSftSettings,
    rank: values.rank,
    alpha: values.alpha,
    dropout: values.dropout,
    targets: loraTargets.filter((t) => values.targets.includes(t)),
    lr: values.lr,
    epochs: values.lengthMode === 'epochs' ? values.epochs : defaultSftSettings.epochs,
    steps: values.lengthMode === 'steps' ? values.steps : 0,
    batchSize: values.batchSize,
    gradAccum: values.gradAccum,
    warmupRatio: values.warmupRatio,
    weightDecay: values.weightDecay,
    maxGradNorm: values.maxGradNorm,
    seed: values.seed,
    valFraction: values.valFraction,
    logEvery: values.logEvery,
    evalEvery: values.evalEvery,
    checkpointEvery: values.checkpointEvery,
    gradientCheckpointing: values.gradientCheckpointing,
  };
}

/** A reward model's settings: SFT's, and whether pairs keep their score difference as a margin. */
export function toRewardSettings(values: FormValues): RewardSettings {
  return { ...toSettings(values), margin: values.margin };
}

/** A DPO run's settings: SFT's, and beta. */
export function toDpoSettings(values: FormValues): DpoSettings {
  return { ...toSettings(values), beta: values.beta };
}

export class TrainForm {
  rank: number;
  alpha: number;
  dropout: number;
  targets: LoraTarget[];
  lr: number;
  lengthMode: LengthMode;
  epochs: number;
  steps: number;
  batchSize: number;
  gradAccum: number;
  maxLen: number;
  warmupRatio: number;
  weightDecay: number;
  maxGradNorm: number;
  seed: number;
  trainOnInputs: boolean;
  margin: boolean;
  valFraction: number;
  logEvery: number;
  evalEvery: number;
  checkpointEvery: number;
  beta: number;
  gradientCheckpointing: GradientCheckpointing;

  /**
   * `maxPositions` gives the loaded model's context length (null without a model), for the max length check;
   * `defaults` and `presets` are the mode's (SFT unless given).
   */
  constructor(
    private readonly maxPositions: () => number | null = () => null,
    defaults: FormValues = defaultFormValues,
    readonly presets: readonly Preset[] = sftPresets,
  ) {
    this.rank = $state(defaults.rank);
    this.alpha = $state(defaults.alpha);
    this.dropout = $state(defaults.dropout);
    this.targets = $state([...defaults.targets]);
    this.lr = $state(defaults.lr);
    this.lengthMode = $state(defaults.lengthMode);
    this.epochs = $state(defaults.epochs);
    this.steps = $state(defaults.steps);
    this.batchSize = $state(defaults.batchSize);
    this.gradAccum = $state(defaults.gradAccum);
    this.maxLen = $state(defaults.maxLen);
    this.warmupRatio = $state(defaults.warmupRatio);
    this.weightDecay = $state(defaults.weightDecay);
    this.maxGradNorm = $state(defaults.maxGradNorm);
    this.seed = $state(defaults.seed);
    this.trainOnInputs = $state(defaults.trainOnInputs);
    this.margin = $state(defaults.margin);
    this.valFraction = $state(defaults.valFraction);
    this.logEvery = $state(defaults.logEvery);
    this.evalEvery = $state(defaults.evalEvery);
    this.checkpointEvery = $state(defaults.checkpointEvery);
    this.beta = $state(defaults.beta);
    this.gradientCheckpointing = $state(defaults.gradientCheckpointing);
  }

  values(): FormValues {
    const { lengthMode, trainOnInputs, margin, gradientCheckpointing } = this;
    const values = { targets: [...this.targets], lengthMode, trainOnInputs, margin, gradientCheckpointing } as FormValues;
    for (const field of numericFields) values[field] = this[field];
    return values;
  }

  errors = $derived.by(() => validateForm(this.values(), this.maxPositions()));
  valid = $derived(Object.keys(this.errors).length === 0);
  /** The preset the fields match, or null when they match none. */
  preset = $derived.by(() => this.presets.find((p) => matches(p.values, this.values()))?.id ?? null);

  apply(values: Partial<FormValues>): void {
    for (const field of numericFields) if (values[field] !== undefined) this[field] = values[field];
    if (values.targets) this.targets = loraTargets.filter((t) => values.targets!.includes(t));
    if (values.lengthMode) this.lengthMode = values.lengthMode;
    if (values.trainOnInputs !== undefined) this.trainOnInputs = values.trainOnInputs;
    if (values.margin !== undefined) this.margin = values.margin;
    if (values.gradientCheckpointing !== undefined) this.gradientCheckpointing = values.gradientCheckpointing;
  }

  applyPreset(id: string): void {
    const preset = this.presets.find((p) => p.id === id);
    if (preset) this.apply(preset.values);
  }

  /** Loads a run's settings back into the form (a reward model run's margin, a DPO run's beta too). */
  load(settings: SftSettings | RewardSettings | DpoSettings, maxLen: number, trainOnInputs: boolean): void {
    const lengthMode: LengthMode = settings.steps > 0 ? 'steps' : 'epochs';
    const margin = 'margin' in settings ? settings.margin : false;
    const beta = 'beta' in settings ? settings.beta : this.beta;
    this.apply({ ...settings, targets: settings.targets, lengthMode, steps: settings.steps > 0 ? settings.steps : this.steps, maxLen, trainOnInputs, margin, beta });
  }

  toggleTarget(target: LoraTarget, on: boolean): void {
    const set = new Set(this.targets);
    if (on) set.add(target);
    else set.delete(target);
    this.targets = loraTargets.filter((t) => set.has(t));
  }

  settings(): SftSettings {
    return toSettings(this.values());
  }

  rewardSettings(): RewardSettings {
    return toRewardSettings(this.values());
  }

  dpoSettings(): DpoSettings {
    return toDpoSettings(this.values());
  }
}

function matches(preset: Partial<FormValues>, values: FormValues): boolean {
  return Object.entries(preset).every(([key, want]) => {
    const have = values[key as keyof FormValues];
    return Array.isArray(want) ? JSON.stringify([...want].sort()) === JSON.stringify([...(have as string[])].sort()) : have === want;
  });
}
