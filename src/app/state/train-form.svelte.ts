// The Train page's hyperparameter form: presets, field values as typed, a message per invalid field, and the
// SftSettings they make. Kept apart from the run state so a run's settings can be loaded back into it.
import { loraTargets, type LoraTarget } from '../../model/lora';
import { defaultSftSettings, type SftSettings } from '../../train/run';

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
] as const;
export type NumericField = (typeof numericFields)[number];
export type FormField = NumericField | 'targets';

export interface FormValues extends Record<NumericField, number> {
  targets: LoraTarget[];
  lengthMode: LengthMode;
  trainOnInputs: boolean;
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
export const presets: Preset[] = [
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
};

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
  };
}

export class TrainForm {
  rank = $state(defaultFormValues.rank);
  alpha = $state(defaultFormValues.alpha);
  dropout = $state(defaultFormValues.dropout);
  targets = $state<LoraTarget[]>([...defaultFormValues.targets]);
  lr = $state(defaultFormValues.lr);
  lengthMode = $state<LengthMode>(defaultFormValues.lengthMode);
  epochs = $state(defaultFormValues.epochs);
  steps = $state(defaultFormValues.steps);
  batchSize = $state(defaultFormValues.batchSize);
  gradAccum = $state(defaultFormValues.gradAccum);
  maxLen = $state(defaultFormValues.maxLen);
  warmupRatio = $state(defaultFormValues.warmupRatio);
  weightDecay = $state(defaultFormValues.weightDecay);
  maxGradNorm = $state(defaultFormValues.maxGradNorm);
  seed = $state(defaultFormValues.seed);
  trainOnInputs = $state(defaultFormValues.trainOnInputs);
  valFraction = $state(defaultFormValues.valFraction);
  logEvery = $state(defaultFormValues.logEvery);
  evalEvery = $state(defaultFormValues.evalEvery);
  checkpointEvery = $state(defaultFormValues.checkpointEvery);

  /** `maxPositions` gives the loaded model's context length (null without a model), for the max length check. */
  constructor(private readonly maxPositions: () => number | null = () => null) {}

  values(): FormValues {
    const values = { targets: [...this.targets], lengthMode: this.lengthMode, trainOnInputs: this.trainOnInputs } as FormValues;
    for (const field of numericFields) values[field] = this[field];
    return values;
  }

  errors = $derived.by(() => validateForm(this.values(), this.maxPositions()));
  valid = $derived(Object.keys(this.errors).length === 0);
  /** The preset the fields match, or null when they match none. */
  preset = $derived(presets.find((p) => matches(p.values, this.values()))?.id ?? null);

  apply(values: Partial<FormValues>): void {
    for (const field of numericFields) if (values[field] !== undefined) this[field] = values[field];
    if (values.targets) this.targets = loraTargets.filter((t) => values.targets!.includes(t));
    if (values.lengthMode) this.lengthMode = values.lengthMode;
    if (values.trainOnInputs !== undefined) this.trainOnInputs = values.trainOnInputs;
  }

  applyPreset(id: string): void {
    const preset = presets.find((p) => p.id === id);
    if (preset) this.apply(preset.values);
  }

  /** Loads a run's settings back into the form. */
  load(settings: SftSettings, maxLen: number, trainOnInputs: boolean): void {
    const lengthMode: LengthMode = settings.steps > 0 ? 'steps' : 'epochs';
    this.apply({ ...settings, targets: settings.targets, lengthMode, steps: settings.steps > 0 ? settings.steps : this.steps, maxLen, trainOnInputs });
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
}

function matches(preset: Partial<FormValues>, values: FormValues): boolean {
  return Object.entries(preset).every(([key, want]) => {
    const have = values[key as keyof FormValues];
    return Array.isArray(want) ? JSON.stringify([...want].sort()) === JSON.stringify([...(have as string[])].sort()) : have === want;
  });
}
