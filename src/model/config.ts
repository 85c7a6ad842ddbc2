// config.json -> ModelConfig. Dimension letters used across the engine:
// V vocab, C hidden size, H MLP intermediate size, L layers, NH query heads, NKV key/value heads, HS head dim.
import { architectures, isModelType, modelTypeOfClass, type ModelType } from './architecture';
import { ModelConfigError, ModelFileMissingError, UnsupportedArchitectureError } from './errors';
import { readText, type ModelFiles } from './files';

export interface ModelConfig {
  architecture: ModelType;
  vocabSize: number; // V
  hiddenSize: number; // C
  intermediateSize: number; // H
  numLayers: number; // L
  numHeads: number; // NH
  numKvHeads: number; // NKV
  headDim: number; // HS
  ropeTheta: number;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;
  /** q/k/v projections carry biases (Qwen2): as the architecture table says. */
  attentionBias: boolean;
  maxPositionEmbeddings: number;
  bosTokenId: number | null;
  eosTokenIds: number[];
}

/** Reads and parses config.json of a model. */
export async function loadConfig(files: ModelFiles): Promise<ModelConfig> {
  if (!files.list().includes('config.json')) throw new ModelFileMissingError('config.json', files.label);
  let json: unknown;
  try {
    json = JSON.parse(await readText(files, 'config.json'));
  } catch (e) {
    throw new ModelConfigError(`it is not JSON (${(e as Error).message})`, files.label);
  }
  return parseConfig(json, files.label);
}

/**
 * A Hugging Face config.json (already parsed) -> ModelConfig, refusing what the engine cannot run.
 * `label` (the model's folder or id) goes into error messages.
 */
export function parseConfig(json: unknown, label?: string): ModelConfig {
  try {
    return parseFields(json);
  } catch (e) {
    if (e instanceof ModelConfigError && label) throw new ModelConfigError(e.reason, label);
    throw e;
  }
}

function parseFields(json: unknown): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ModelConfigError('it is not a JSON object');
  const raw = json as Record<string, unknown>;
  const architecture = architectureOf(raw);
  const { defaults: d, refusedFlags, biased } = architectures[architecture];

  const hiddenSize = positiveInt(raw, 'hidden_size');
  const numHeads = positiveInt(raw, 'num_attention_heads');
  const numKvHeads = raw.num_key_value_heads == null ? numHeads : positiveInt(raw, 'num_key_value_heads');
  if (numHeads % numKvHeads !== 0) {
    throw new ModelConfigError(`num_attention_heads (${numHeads}) is not a multiple of num_key_value_heads (${numKvHeads})`);
  }
  let headDim: number;
  if (raw.head_dim != null) headDim = positiveInt(raw, 'head_dim');
  else if (hiddenSize % numHeads === 0) headDim = hiddenSize / numHeads;
  else throw new ModelConfigError(`hidden_size (${hiddenSize}) is not a multiple of num_attention_heads (${numHeads}) and there is no head_dim`);

  const act = raw.hidden_act ?? 'silu';
  if (act !== 'silu') throw new ModelConfigError(`hidden_act ${JSON.stringify(act)} is not supported (only silu)`);
  if (raw.mlp_bias === true) throw new ModelConfigError('mlp_bias is not supported');
  for (const [key, reason] of Object.entries(refusedFlags)) if (raw[key] === true) throw new ModelConfigError(reason);

  const eos = raw.eos_token_id;
  const eosTokenIds = eos == null ? [] : Array.isArray(eos) ? eos : [eos];
  if (!eosTokenIds.every(isTokenId)) throw new ModelConfigError(`eos_token_id ${JSON.stringify(eos)} is not a token id or a list of them`);
  const bos = raw.bos_token_id ?? null;
  if (bos !== null && !isTokenId(bos)) throw new ModelConfigError(`bos_token_id ${JSON.stringify(bos)} is not a token id`);

  return {
    architecture,
    vocabSize: positiveInt(raw, 'vocab_size'),
    hiddenSize,
    intermediateSize: positiveInt(raw, 'intermediate_size'),
    numLayers: positiveInt(raw, 'num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    ropeTheta: ropeTheta(raw, d.ropeTheta),
    rmsNormEps: positiveNumber(raw, 'rms_norm_eps', d.rmsNormEps),
    tieWordEmbeddings: flag(raw, 'tie_word_embeddings', false),
    attentionBias: biased.length > 0,
    maxPositionEmbeddings: raw.max_position_embeddings == null ? d.maxPositionEmbeddings : positiveInt(raw, 'max_position_embeddings'),
    bosTokenId: bos as number | null,
    eosTokenIds: eosTokenIds as number[],
  };
}

function architectureOf(raw: Record<string, unknown>): ModelType {
  const classes = raw.architectures;
  const modelType = raw.model_type;
  if (Array.isArray(classes) && classes.length > 0) {
    const name = String(classes[0]);
    const type = modelTypeOfClass(name);
    if (type) return type;
    throw new UnsupportedArchitectureError(name);
  }
  if (isModelType(modelType)) return modelType;
  throw new UnsupportedArchitectureError(typeof modelType === 'string' ? modelType : 'unknown (config.json names none)');
}

/** Plain RoPE only: rope_theta, or rope_parameters of type "default" (newer config.json files). */
function ropeTheta(raw: Record<string, unknown>, fallback: number): number {
  for (const key of ['rope_scaling', 'rope_parameters']) {
    const params = raw[key];
    if (params == null) continue;
    const p = params as Record<string, unknown>;
    const type = typeof params === 'object' ? (p.rope_type ?? p.type ?? 'default') : params;
    if (type !== 'default') throw new ModelConfigError(`${key} ${JSON.stringify(params)} is not supported (only plain RoPE)`);
    if (p.rope_theta != null) return positiveNumber(p, 'rope_theta', fallback);
  }
  return positiveNumber(raw, 'rope_theta', fallback);
}

function positiveInt(raw: Record<string, unknown>, key: string): number {
  const value = raw[key];
  if (value == null) throw new ModelConfigError(`${key} is missing`);
  if (!Number.isSafeInteger(value) || (value as number) <= 0) {
    throw new ModelConfigError(`${key} is ${JSON.stringify(value)}, not a positive integer`);
  }
  return value as number;
}

function positiveNumber(raw: Record<string, unknown>, key: string, fallback: number): number {
  const value = raw[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ModelConfigError(`${key} is ${JSON.stringify(value)}, not a positive number`);
  }
  return value;
}

function flag(raw: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const value = raw[key] ?? fallback;
  if (typeof value !== 'boolean') throw new ModelConfigError(`${key} is ${JSON.stringify(value)}, not true or false`);
  return value;
}

function isTokenId(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
