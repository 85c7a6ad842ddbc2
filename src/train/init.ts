// A fresh LoRA adapter with PEFT's initialisation: A Kaiming-uniform (a = sqrt(5)), B zero, so training starts
// from the base model exactly. Seeded, so a run can be repeated.
import type { ModelConfig } from '../model/config';
import { mulberry32 } from '../data/split';
import { loraTargets, targetShape, type LoraAdapter, type LoraModuleWeights, type LoraSettings } from '../model/lora';

/**
 * Modules in layer order, then in the order of loraTargets. Kaiming-uniform with a = sqrt(5) on A (R, in) has
 * gain sqrt(2 / (1 + 5)) and bound gain * sqrt(3 / in) = 1 / sqrt(in).
 */
export function initAdapter(config: ModelConfig, settings: LoraSettings, baseModel: string, seed: number): LoraAdapter {
  const { rank: R, alpha, dropout } = settings;
  if (!Number.isSafeInteger(R) || R < 1) throw new RangeError(`LoRA rank must be a positive integer, got ${R}`);
  if (!(alpha > 0 && Number.isFinite(alpha))) throw new RangeError(`LoRA alpha must be a positive number, got ${alpha}`);
  if (!(dropout >= 0 && dropout < 1)) throw new RangeError(`LoRA dropout must be in [0, 1), got ${dropout}`);
  const unknown = settings.targets.filter((t) => !loraTargets.includes(t));
  if (unknown.length) throw new RangeError(`unknown LoRA target modules ${unknown.join(', ')}; choose from ${loraTargets.join(', ')}`);
  const targets = loraTargets.filter((t) => settings.targets.includes(t));
  if (!targets.length) throw new RangeError(`choose at least one LoRA target module (${loraTargets.join(', ')})`);

  const rand = mulberry32(seed);
  const modules: LoraModuleWeights[] = [];
  for (let layer = 0; layer < config.numLayers; layer++) {
    for (const target of targets) {
      const { inFeatures, outFeatures } = targetShape(config, target);
      const bound = 1 / Math.sqrt(inFeatures);
      const A = new Float32Array(R * inFeatures); // (R, in)
      for (let i = 0; i < A.length; i++) A[i] = (2 * rand() - 1) * bound;
      modules.push({ layer, target, inFeatures, outFeatures, A, B: new Float32Array(outFeatures * R) });
    }
  }
  return { rank: R, alpha, dropout, targets, baseModel, modules };
}

/**
 * A fresh reward head (C): Hugging Face initializes LlamaForSequenceClassification's score from a normal with the
 * config's initializer_range, 0.02. Seeded like the adapter.
 */
export function initScore(config: ModelConfig, seed: number): Float32Array {
  const rand = mulberry32(seed ^ 0x5c0e);
  return Float32Array.from({ length: config.hiddenSize }, () => 0.02 * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));
}
