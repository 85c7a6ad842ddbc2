// The flags train-sft, train-rm and train-dpo share: LoRA, optimizer and schedule settings, where the run is kept
// (--run-dir, --checkpoint-every) and where the adapter goes.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loraTargets, type LoraTarget } from '../model/lora';
import type { PeftFiles } from '../train/peft';
import { defaultSftSettings, type SftSettings } from '../train/run';
import { gradientCheckpointingModes, type GradientCheckpointing } from '../train/stepper';
import { UsageError, numberFlag, type Flags } from './args';

export const trainingFlags = {
  model: 'string', data: 'string', out: 'string', rank: 'string', alpha: 'string', dropout: 'string', targets: 'string',
  lr: 'string', epochs: 'string', steps: 'string', 'batch-size': 'string', 'grad-accum': 'string', 'max-len': 'string',
  'warmup-ratio': 'string', 'weight-decay': 'string', seed: 'string', 'val-fraction': 'string',
  'run-dir': 'string', 'checkpoint-every': 'string', 'gradient-checkpointing': 'string',
} as const;

/** The run's settings from the flags, `defaults` where a flag is absent. */
export function trainingSettings(flags: Flags<typeof trainingFlags>, defaults: SftSettings = defaultSftSettings): SftSettings {
  const d = defaults;
  const targets = (flags.targets?.split(',').map((t) => t.trim()) ?? d.targets) as LoraTarget[];
  const unknown = targets.filter((t) => !loraTargets.includes(t));
  if (unknown.length) throw new UsageError(`unknown --targets ${unknown.join(', ')} (choose from ${loraTargets.join(', ')})`);
  if (flags.epochs !== undefined && flags.steps !== undefined) throw new UsageError('give --epochs or --steps, not both');
  const checkpointing = (flags['gradient-checkpointing'] ?? d.gradientCheckpointing) as GradientCheckpointing;
  if (!gradientCheckpointingModes.includes(checkpointing)) {
    throw new UsageError(`--gradient-checkpointing must be ${gradientCheckpointingModes.join(', ')}, got ${checkpointing}`);
  }
  return {
    ...d,
    rank: numberFlag(flags.rank, 'rank', d.rank),
    alpha: numberFlag(flags.alpha, 'alpha', d.alpha),
    dropout: numberFlag(flags.dropout, 'dropout', d.dropout),
    targets,
    lr: numberFlag(flags.lr, 'lr', d.lr),
    epochs: numberFlag(flags.epochs, 'epochs', d.epochs),
    steps: numberFlag(flags.steps, 'steps', 0),
    batchSize: numberFlag(flags['batch-size'], 'batch-size', d.batchSize),
    gradAccum: numberFlag(flags['grad-accum'], 'grad-accum', d.gradAccum),
    warmupRatio: numberFlag(flags['warmup-ratio'], 'warmup-ratio', d.warmupRatio),
    weightDecay: numberFlag(flags['weight-decay'], 'weight-decay', d.weightDecay),
    seed: numberFlag(flags.seed, 'seed', d.seed),
    valFraction: numberFlag(flags['val-fraction'], 'val-fraction', d.valFraction),
    checkpointEvery: numberFlag(flags['checkpoint-every'], 'checkpoint-every', d.checkpointEvery),
    gradientCheckpointing: checkpointing,
  };
}

/** Writes adapter_config.json and adapter_model.safetensors into `dir`. */
export async function writeAdapterDir(dir: string, files: PeftFiles): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'adapter_config.json'), files.configJson);
  await writeFile(path.join(dir, 'adapter_model.safetensors'), files.safetensors);
}
