// LoRA adapters in PEFT's file format: adapter_config.json + adapter_model.safetensors with keys
// base_model.model.<projection module>.lora_A.weight (R, in) and .lora_B.weight (out, R), module paths from the
// architecture table (Llama: base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight),
// applied as W + (lora_alpha / r) * B @ A. Export (with a self-test that reads the file back), import of
// adapters trained elsewhere, and merging into the base weights.
import { z } from 'zod';
import { layerTensorNames, parseProjectionModule, projectionModule, rewardHeadTensor, type ModelType } from '../model/architecture';
import type { ModelConfig } from '../model/config';
import { NonFiniteWeightsError, SafetensorsError, UnsupportedDtypeError } from '../model/errors';
import { dtypeSize, firstNonFinite, isDtype, toFloat32, writeSafetensors, type Dtype, type TensorData } from '../model/safetensors';
import { loraTargets, targetShape, type LoraAdapter, type LoraModuleWeights, type LoraTarget } from '../model/lora';

export interface PeftFiles {
  /** adapter_config.json */
  configJson: string;
  /** adapter_model.safetensors */
  safetensors: Uint8Array;
}

/** An adapter file that cannot be applied to this model; says what is wrong and what to do. */
export class PeftImportError extends Error {
  override name = 'PeftImportError';
  constructor(
    readonly reason: string,
    advice = 'Use an adapter trained for this base model with plain LoRA (PEFT LoraConfig without DoRA, rsLoRA or biases).',
  ) {
    super(`The LoRA adapter cannot be loaded: ${reason}. ${advice}`);
  }
}

/** The written adapter did not read back as the adapter it was written from. */
export class PeftExportError extends Error {
  override name = 'PeftExportError';
  constructor(readonly reason: string) {
    super(`The exported adapter failed its self-test: ${reason}. Nothing should be saved from this export; report it as a bug with the run's settings.`);
  }
}

/** PEFT wraps the base model twice: its state-dict keys are the model's own tensor names under this prefix. */
const peftPrefix = 'base_model.model.';

/**
 * The PEFT state-dict key of a tensor of the base model, e.g. of a fully trained module in modules_to_save:
 * score.weight (the reward head) -> base_model.model.score.weight.
 */
export function peftTensorKey(tensor: string): string {
  return `${peftPrefix}${tensor}`;
}

// A LoraAdapter does not record its base model's architecture: the functions below take it as an argument,
// by default Llama's module names (which every entry of the architecture table shares so far).

/** The PEFT state-dict key of a module's A or B. */
export function peftKey(layer: number, target: LoraTarget, which: 'A' | 'B', architecture: ModelType = 'llama'): string {
  return peftTensorKey(`${projectionModule(architecture, layer, target)}.lora_${which}.weight`);
}

/**
 * Gradients as safetensors tensors under PEFT's key names plus `.grad`: grads holds A then B of each module in the
 * adapter's order (GpuLora.downloadGradients), then a reward model's score head.
 */
export function peftGradientTensors(adapter: LoraAdapter, grads: Float32Array[], architecture: ModelType): TensorData[] {
  const R = adapter.rank;
  const tensors: TensorData[] = adapter.modules.flatMap((m, i) => [
    { name: `${peftKey(m.layer, m.target, 'A', architecture)}.grad`, dtype: 'F32' as const, shape: [R, m.inFeatures], data: grads[2 * i] },
    { name: `${peftKey(m.layer, m.target, 'B', architecture)}.grad`, dtype: 'F32' as const, shape: [m.outFeatures, R], data: grads[2 * i + 1] },
  ]);
  if (adapter.score) {
    tensors.push({ name: `${peftTensorKey(rewardHeadTensor(architecture))}.grad`, dtype: 'F32', shape: [1, adapter.score.length], data: grads[2 * adapter.modules.length] });
  }
  return tensors;
}

/** PEFT's safetensors files carry this metadata; Hugging Face loaders check it. */
const metadata = { format: 'pt' };

export function exportPeftAdapter(adapter: LoraAdapter, architecture: ModelType = 'llama'): PeftFiles {
  const config = {
    alpha_pattern: {},
    base_model_name_or_path: adapter.baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: adapter.alpha,
    lora_dropout: adapter.dropout,
    // A reward model trains its score head fully: PEFT saves it whole, under modules_to_save.
    modules_to_save: adapter.score ? ['score'] : null,
    peft_type: 'LORA',
    r: adapter.rank,
    rank_pattern: {},
    revision: null,
    target_modules: loraTargets.filter((t) => adapter.targets.includes(t)),
    task_type: adapter.score ? 'SEQ_CLS' : 'CAUSAL_LM',
    use_dora: false,
    use_rslora: false,
  };
  const R = adapter.rank;
  const tensors = adapter.modules.flatMap((m) => [
    { name: peftKey(m.layer, m.target, 'A', architecture), dtype: 'F32' as const, shape: [R, m.inFeatures], data: m.A },
    { name: peftKey(m.layer, m.target, 'B', architecture), dtype: 'F32' as const, shape: [m.outFeatures, R], data: m.B },
  ]);
  if (adapter.score) tensors.push({ name: scoreKey(architecture), dtype: 'F32' as const, shape: [1, adapter.score.length], data: adapter.score });
  const files = { configJson: `${JSON.stringify(config, null, 2)}\n`, safetensors: writeSafetensors(tensors, metadata) };
  verifyPeftExport(files, adapter, architecture);
  return files;
}

/**
 * Reads exported files back and checks them against the adapter: the config's r, lora_alpha, lora_dropout and
 * target_modules, exactly the expected keys, each F32 with the right shape and bit-identical values.
 */
export function verifyPeftExport(files: PeftFiles, adapter: LoraAdapter, architecture: ModelType = 'llama'): void {
  const fail = (reason: string): never => {
    throw new PeftExportError(reason);
  };
  let config: Record<string, unknown> = {};
  try {
    config = JSON.parse(files.configJson) as Record<string, unknown>;
  } catch (e) {
    fail(`adapter_config.json is not JSON (${(e as Error).message})`);
  }
  const expectedTargets = loraTargets.filter((t) => adapter.targets.includes(t));
  if (config.peft_type !== 'LORA') fail(`peft_type is ${JSON.stringify(config.peft_type)}`);
  if (config.r !== adapter.rank) fail(`r is ${JSON.stringify(config.r)}, not ${adapter.rank}`);
  if (config.lora_alpha !== adapter.alpha) fail(`lora_alpha is ${JSON.stringify(config.lora_alpha)}, not ${adapter.alpha}`);
  if (config.lora_dropout !== adapter.dropout) fail(`lora_dropout is ${JSON.stringify(config.lora_dropout)}, not ${adapter.dropout}`);
  if (JSON.stringify(config.target_modules) !== JSON.stringify(expectedTargets)) {
    fail(`target_modules is ${JSON.stringify(config.target_modules)}, not ${JSON.stringify(expectedTargets)}`);
  }
  const taskType = adapter.score ? 'SEQ_CLS' : 'CAUSAL_LM';
  if (config.task_type !== taskType) fail(`task_type is ${JSON.stringify(config.task_type)}, not ${taskType}`);

  const tensors = readSafetensors('adapter_model.safetensors', files.safetensors);
  const R = adapter.rank;
  const expected = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const m of adapter.modules) {
    expected.set(peftKey(m.layer, m.target, 'A', architecture), { shape: [R, m.inFeatures], data: m.A });
    expected.set(peftKey(m.layer, m.target, 'B', architecture), { shape: [m.outFeatures, R], data: m.B });
  }
  if (adapter.score) expected.set(scoreKey(architecture), { shape: [1, adapter.score.length], data: adapter.score });
  for (const name of tensors.keys()) if (!expected.has(name)) fail(`it holds an unexpected tensor ${name}`);
  for (const [name, want] of expected) {
    const got = tensors.get(name);
    if (!got) return fail(`tensor ${name} is missing`);
    if (got.dtype !== 'F32') fail(`tensor ${name} is ${got.dtype}, not F32`);
    if (JSON.stringify(got.shape) !== JSON.stringify(want.shape)) fail(`tensor ${name} has shape ${JSON.stringify(got.shape)}, not ${JSON.stringify(want.shape)}`);
    const wantBytes = new Uint8Array(want.data.buffer, want.data.byteOffset, want.data.byteLength);
    const at = firstDifference(got.bytes, wantBytes);
    if (at >= 0) fail(`tensor ${name} differs from the adapter at byte ${at}`);
  }
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.byteLength !== b.byteLength) return Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return i;
  return -1;
}

const positiveInt = z.number().int().positive();
const peftConfig = z.looseObject({
  peft_type: z.string().nullish(),
  task_type: z.string().nullish(),
  r: positiveInt,
  lora_alpha: z.number().positive(),
  lora_dropout: z.number().min(0).lt(1).nullish(),
  target_modules: z.union([z.array(z.string()).min(1), z.string()]),
  bias: z.string().nullish(),
  fan_in_fan_out: z.boolean().nullish(),
  use_dora: z.boolean().nullish(),
  use_rslora: z.boolean().nullish(),
  lora_bias: z.boolean().nullish(),
  modules_to_save: z.array(z.string()).nullish(),
  rank_pattern: z.record(z.string(), z.unknown()).nullish(),
  alpha_pattern: z.record(z.string(), z.unknown()).nullish(),
  layers_to_transform: z.union([z.number().int().min(0), z.array(z.number().int().min(0))]).nullish(),
  base_model_name_or_path: z.string().nullish(),
});

/** The LoRA weight ending of PEFT's keys, with or without the adapter name PEFT sometimes leaves in (".default"). */
const loraSuffix = /\.lora_([AB])(?:\.default)?\.weight$/;

/** The layer, target and A or B of a PEFT LoRA key, or null when the key names no projection of the architecture. */
function parsePeftKey(name: string, architecture: ModelType): { layer: number; target: LoraTarget; which: 'A' | 'B' } | null {
  const suffix = loraSuffix.exec(name);
  if (!suffix || !name.startsWith(peftPrefix)) return null;
  const module = parseProjectionModule(architecture, name.slice(peftPrefix.length, suffix.index));
  return module && { layer: module.layer, target: module.projection, which: suffix[1] as 'A' | 'B' };
}

/**
 * A PEFT LoRA adapter for this model. Tensors may be F32, F16 or BF16 (widened exactly to f32). Everything is
 * checked against the model config: module names, layers, ranks and shapes; options that change the math
 * beyond W + (alpha / r) * B @ A are refused by name.
 */
export function importPeftAdapter(configJson: string, safetensors: Uint8Array, config: ModelConfig): LoraAdapter {
  let json: unknown;
  try {
    json = JSON.parse(configJson);
  } catch (e) {
    throw new PeftImportError(`adapter_config.json is not JSON (${(e as Error).message})`, 'Pick the adapter_config.json that came with the adapter.');
  }
  const parsed = peftConfig.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PeftImportError(`adapter_config.json: ${issue.path.join('.') || 'the file'}: ${issue.message}`, 'Pick the adapter_config.json that came with the adapter.');
  }
  const c = parsed.data;
  const unsupported = (what: string): never => {
    throw new PeftImportError(`${what} is not supported`);
  };
  if (c.peft_type !== 'LORA') unsupported(`peft_type ${JSON.stringify(c.peft_type ?? null)} (only LORA adapters can be loaded)`);
  if (c.task_type != null && c.task_type !== 'CAUSAL_LM' && c.task_type !== 'SEQ_CLS') unsupported(`task_type ${c.task_type} (only CAUSAL_LM and SEQ_CLS)`);
  // A reward model (SEQ_CLS) carries its score head whole; nothing else may be fully trained.
  const reward = c.task_type === 'SEQ_CLS';
  if (reward && JSON.stringify(c.modules_to_save ?? []) !== '["score"]') {
    unsupported(`a SEQ_CLS adapter with modules_to_save ${JSON.stringify(c.modules_to_save ?? null)} (a reward model saves ["score"])`);
  }
  if (c.use_dora) unsupported('DoRA (use_dora: true)');
  if (c.use_rslora) unsupported('rsLoRA (use_rslora: true, scale alpha/sqrt(r))');
  if (c.fan_in_fan_out) unsupported('fan_in_fan_out: true (transposed Conv1D weights)');
  if ((c.bias ?? 'none') !== 'none') unsupported(`bias ${JSON.stringify(c.bias)} (only "none")`);
  if (c.lora_bias) unsupported('lora_bias: true');
  if (!reward && c.modules_to_save?.length) unsupported(`modules_to_save ${JSON.stringify(c.modules_to_save)} (fully trained modules)`);
  if (c.rank_pattern && Object.keys(c.rank_pattern).length) unsupported('rank_pattern (a different rank per module)');
  if (c.alpha_pattern && Object.keys(c.alpha_pattern).length) unsupported('alpha_pattern (a different alpha per module)');
  if ((c as Record<string, unknown>).layer_replication != null) unsupported('layer_replication');

  const R = c.r;
  const targets = targetsOf(c.target_modules);
  const layerList = c.layers_to_transform == null ? null : [c.layers_to_transform].flat();
  const layers = layerList ?? Array.from({ length: config.numLayers }, (_, l) => l);
  for (const l of layers) {
    if (l >= config.numLayers) throw new PeftImportError(`layers_to_transform names layer ${l} but the model has ${config.numLayers} layers`, wrongModel);
  }

  const found = new Map<string, Float32Array>(); // `${layer}.${target}.${A|B}` -> values
  let score: Float32Array | undefined;
  for (const [name, tensor] of readSafetensors('adapter_model.safetensors', safetensors)) {
    if (reward && scoreKeys(config.architecture).includes(name)) {
      if (JSON.stringify(tensor.shape) !== JSON.stringify([1, config.hiddenSize])) {
        throw new PeftImportError(`tensor ${name} has shape ${JSON.stringify(tensor.shape)} but this model's score head is [1, ${config.hiddenSize}] (one reward)`, wrongModel);
      }
      const bad = firstNonFinite(tensor.dtype, tensor.bytes);
      if (bad >= 0) throw new NonFiniteWeightsError(name, 'adapter_model.safetensors', bad, 'Re-download the adapter, or re-export it from a training run whose loss stayed finite.');
      score = toFloat32(tensor.dtype, tensor.bytes);
      continue;
    }
    const key = parsePeftKey(name, config.architecture);
    if (!key) throw new PeftImportError(`tensor ${name} is not the lora_A or lora_B weight of a ${loraTargets.join('/')} projection`);
    const { layer, target, which } = key;
    if (layer >= config.numLayers) throw new PeftImportError(`tensor ${name} is for layer ${layer} but the model has ${config.numLayers} layers`, wrongModel);
    if (!targets.includes(target)) throw new PeftImportError(`tensor ${name} is for ${target}, which target_modules ${JSON.stringify(c.target_modules)} does not list`);
    if (!layers.includes(layer)) throw new PeftImportError(`tensor ${name} is for layer ${layer}, which layers_to_transform does not list`);
    const { inFeatures, outFeatures } = targetShape(config, target);
    const shape = which === 'A' ? [R, inFeatures] : [outFeatures, R];
    const rankOf = which === 'A' ? tensor.shape[0] : tensor.shape[1];
    if (tensor.shape.length === 2 && rankOf !== R && (which === 'A' ? tensor.shape[1] === inFeatures : tensor.shape[0] === outFeatures)) {
      throw new PeftImportError(`tensor ${name} has rank ${rankOf} but adapter_config.json says r = ${R}`, 'Use the adapter_config.json saved with these weights.');
    }
    if (JSON.stringify(tensor.shape) !== JSON.stringify(shape)) {
      throw new PeftImportError(`tensor ${name} has shape ${JSON.stringify(tensor.shape)} but this model's ${target} at rank ${R} needs ${JSON.stringify(shape)}`, wrongModel);
    }
    const id = `${layer}.${target}.${which}`;
    if (found.has(id)) throw new PeftImportError(`the weight of ${peftKey(layer, target, which, config.architecture)} is stored twice (with and without ".default")`);
    const bad = firstNonFinite(tensor.dtype, tensor.bytes);
    if (bad >= 0) {
      throw new NonFiniteWeightsError(name, 'adapter_model.safetensors', bad, 'Re-download the adapter, or re-export it from a training run whose loss stayed finite.');
    }
    found.set(id, toFloat32(tensor.dtype, tensor.bytes));
  }

  const modules: LoraModuleWeights[] = [];
  for (const layer of [...layers].sort((a, b) => a - b)) {
    for (const target of targets) {
      const A = found.get(`${layer}.${target}.A`);
      const B = found.get(`${layer}.${target}.B`);
      if (!A || !B) throw new PeftImportError(`tensor ${peftKey(layer, target, A ? 'B' : 'A', config.architecture)} is missing`, 'Pick the complete adapter_model.safetensors that came with the adapter.');
      modules.push({ layer, target, ...targetShape(config, target), A, B });
    }
  }
  if (reward && !score) throw new PeftImportError(`tensor ${scoreKey(config.architecture)} is missing: a SEQ_CLS adapter carries its score head`, 'Pick the complete adapter_model.safetensors that came with the adapter.');
  return {
    rank: R,
    alpha: c.lora_alpha,
    dropout: c.lora_dropout ?? 0,
    targets,
    baseModel: c.base_model_name_or_path ?? '',
    modules,
    ...(score ? { score } : {}),
  };
}

/** The PEFT key of a reward model's score head: base_model.model.score.weight. */
function scoreKey(architecture: ModelType): string {
  return peftTensorKey(rewardHeadTensor(architecture));
}

/** PEFT saves a module of modules_to_save as a copy named after the adapter; loaders accept both keys. */
function scoreKeys(architecture: ModelType): string[] {
  const key = scoreKey(architecture);
  return [key, key.replace(/\.weight$/, '.modules_to_save.default.weight')];
}

const wrongModel = 'Check that the adapter was trained for this base model.';

/** target_modules as a list of projection names (in loraTargets order), or PEFT's "all-linear". */
function targetsOf(spec: string | string[]): LoraTarget[] {
  if (spec === 'all-linear') return [...loraTargets];
  if (typeof spec === 'string') {
    throw new PeftImportError(`target_modules given as the pattern ${JSON.stringify(spec)} is not supported`, 'Save the adapter with target_modules as a list of module names.');
  }
  const unknown = spec.filter((name) => !(loraTargets as readonly string[]).includes(name));
  if (unknown.length) throw new PeftImportError(`target_modules ${JSON.stringify(unknown)} are not supported (supported: ${loraTargets.join(', ')})`);
  return loraTargets.filter((t) => spec.includes(t));
}

/** W + (alpha / r) * B @ A for every module; tensors the adapter does not touch are shared, not copied. */
export function mergeAdapter(weights: Map<string, Float32Array>, adapter: LoraAdapter, architecture: ModelType = 'llama'): Map<string, Float32Array> {
  const merged = new Map(weights);
  const R = adapter.rank;
  const scale = adapter.alpha / adapter.rank;
  for (const m of adapter.modules) {
    const name = layerTensorNames(architecture, m.layer).weight(m.target);
    const W = weights.get(name); // (out, in)
    const { inFeatures: IN, outFeatures: OUT } = m;
    if (!W) throw new Error(`mergeAdapter: the base weights have no ${name}; merge into the weights of the model the adapter was trained for`);
    if (W.length !== OUT * IN || m.A.length !== R * IN || m.B.length !== OUT * R) {
      throw new Error(`mergeAdapter: ${name} has ${W.length} values, A ${m.A.length}, B ${m.B.length}, but (${OUT}, ${IN}) at rank ${R} needs ${OUT * IN}, ${R * IN}, ${OUT * R}`);
    }
    const out = new Float32Array(W.length);
    const row = new Float64Array(IN); // (B @ A)[o, :] in f64, rounded once
    for (let o = 0; o < OUT; o++) {
      row.fill(0);
      for (let r = 0; r < R; r++) {
        const b = m.B[o * R + r];
        for (let i = 0; i < IN; i++) row[i] += b * m.A[r * IN + i];
      }
      for (let i = 0; i < IN; i++) out[o * IN + i] = W[o * IN + i] + scale * row[i];
    }
    merged.set(name, out);
  }
  return merged;
}

/** Merged weights as one F32 safetensors file; every tensor needs its shape in `shapes`. */
export function exportMergedSafetensors(merged: Map<string, Float32Array>, shapes: ReadonlyMap<string, readonly number[]>): Uint8Array {
  const tensors = [...merged].map(([name, data]) => {
    const shape = shapes.get(name);
    if (!shape) throw new Error(`exportMergedSafetensors: no shape for tensor ${name}`);
    return { name, dtype: 'F32' as const, shape: [...shape], data };
  });
  return writeSafetensors(tensors, metadata);
}

interface StoredTensor {
  dtype: Dtype;
  shape: number[];
  bytes: Uint8Array;
}

/**
 * A whole safetensors file already in memory, read synchronously: u64 LE header length | JSON header | data.
 * Checks what openSafetensors checks for each tensor (dtype, shape, offsets inside the data region, byte count).
 */
function readSafetensors(file: string, bytes: Uint8Array): Map<string, StoredTensor> {
  const fail = (reason: string): never => {
    throw new SafetensorsError(file, reason);
  };
  if (bytes.byteLength < 8) fail(`it is ${bytes.byteLength} bytes long, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
  if (headerLength < 2 || headerLength > bytes.byteLength - 8) fail(`the header length ${headerLength} does not fit the ${bytes.byteLength}-byte file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    fail(`the header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return fail('the header is not a JSON object');
  const data = bytes.subarray(8 + headerLength);
  const tensors = new Map<string, StoredTensor>();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as Record<string, unknown>;
    if (!isDtype(dtype)) throw new UnsupportedDtypeError(file, name, String(dtype));
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor ${name} has shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor ${name} has data_offsets ${JSON.stringify(offsets)}, not [begin, end]`);
    }
    const dims = shape as number[];
    const [begin, end] = offsets as [number, number];
    const byteLength = dims.reduce((a, b) => a * b, 1) * dtypeSize(dtype);
    if (end - begin !== byteLength) fail(`tensor ${name} (${dtype} ${JSON.stringify(dims)}) needs ${byteLength} bytes but data_offsets span ${end - begin}`);
    if (end > data.byteLength) fail(`tensor ${name} ends at byte ${end} of a ${data.byteLength}-byte data region (truncated download?)`);
    tensors.set(name, { dtype, shape: dims, bytes: data.subarray(begin, end) });
  }
  return tensors;
}
