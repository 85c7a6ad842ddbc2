// A LoRA adapter on the CPU: what checkpoints store, PEFT files carry and the GPU trainer uploads.
// Module (layer l, target t) adds scale * B @ A to the frozen weight W (out, in), scale = alpha / rank.
import type { ModelConfig } from '../model/config';

export const loraTargets = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof loraTargets)[number];

export interface LoraSettings {
  rank: number; // R
  alpha: number;
  dropout: number;
  targets: LoraTarget[];
}

export interface LoraModuleWeights {
  layer: number;
  target: LoraTarget;
  inFeatures: number;
  outFeatures: number;
  A: Float32Array; // (R, in)
  B: Float32Array; // (out, R)
}

export interface LoraAdapter extends LoraSettings {
  /** The base model's name or path, for adapter_config.json. */
  baseModel: string;
  /** In layer order, then target order. */
  modules: LoraModuleWeights[];
}

/** (in, out) features of a target projection. */
export function targetShape(config: ModelConfig, target: LoraTarget): { inFeatures: number; outFeatures: number } {
  const { hiddenSize: C, intermediateSize: H, numHeads: NH, numKvHeads: NKV, headDim: HS } = config;
  switch (target) {
    case 'q_proj':
      return { inFeatures: C, outFeatures: NH * HS };
    case 'k_proj':
    case 'v_proj':
      return { inFeatures: C, outFeatures: NKV * HS };
    case 'o_proj':
      return { inFeatures: NH * HS, outFeatures: C };
    case 'gate_proj':
    case 'up_proj':
      return { inFeatures: C, outFeatures: H };
    case 'down_proj':
      return { inFeatures: H, outFeatures: C };
  }
}

/** The module's sub-path under model.layers.N, e.g. "self_attn.q_proj". */
export function targetPath(target: LoraTarget): string {
  const mlp: LoraTarget[] = ['gate_proj', 'up_proj', 'down_proj'];
  return `${mlp.includes(target) ? 'mlp' : 'self_attn'}.${target}`;
}
