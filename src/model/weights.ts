// Uploads a Llama-family checkpoint to the GPU once. Matmul weights become f16 where the device has
// shader-f16 and its f16 kernels passed their checks (half the memory and bandwidth), everything else f32. A failed upload destroys what it made.
import type { GpuContext, GpuWeight } from '../gpu/context';
import { embeddingTensor, finalNormTensor, layerCount, layerTensorNames, lmHeadTensor, type Projection } from './architecture';
import type { ModelConfig } from './config';
import { ModelConfigError, NonFiniteWeightsError, TensorMissingError, assertFitsGpu } from './errors';
import { targetShape } from './lora';
import { firstNonFinite, toFloat16Bits, toFloat32, type ModelWeights, type TensorInfo } from './safetensors';

export interface LayerWeights {
  inputNorm: GPUBuffer; // (C)
  q: GpuWeight; // (NH*HS, C)
  k: GpuWeight; // (NKV*HS, C)
  v: GpuWeight; // (NKV*HS, C)
  qBias: GPUBuffer | null; // (NH*HS), Qwen2 only
  kBias: GPUBuffer | null; // (NKV*HS)
  vBias: GPUBuffer | null; // (NKV*HS)
  o: GpuWeight; // (C, NH*HS)
  postNorm: GPUBuffer; // (C)
  gate: GpuWeight; // (H, C)
  up: GpuWeight; // (H, C)
  down: GpuWeight; // (C, H)
}

export interface GpuModelWeights {
  embed: GpuWeight; // (V, C)
  layers: LayerWeights[]; // (L)
  finalNorm: GPUBuffer; // (C)
  lmHead: GpuWeight; // (V, C), the embedding itself when tied
  dtype: 'f32' | 'f16';
  bytes: number;
  parameterCount: number;
}

/** Bytes of the checkpoint read and uploaded so far, of the total. */
export type UploadProgress = (loadedBytes: number, totalBytes: number) => void;

interface TensorSpec {
  name: string;
  shape: number[];
}

/** A LayerWeights field's tensor; null where the field may be (an absent bias). */
type LayerTensors = { [K in keyof LayerWeights]: null extends LayerWeights[K] ? TensorSpec | null : TensorSpec };

/** The tensors of decoder layer `layer` by their LayerWeights field, in upload order. */
function layerTensors(config: ModelConfig, layer: number): LayerTensors {
  const C = config.hiddenSize;
  const names = layerTensorNames(config.architecture, layer);
  const weight = (p: Projection): TensorSpec => {
    const { inFeatures, outFeatures } = targetShape(config, p);
    return { name: names.weight(p), shape: [outFeatures, inFeatures] };
  };
  const bias = (p: Projection): TensorSpec | null => {
    const name = names.bias(p);
    return name === null ? null : { name, shape: [targetShape(config, p).outFeatures] };
  };
  return {
    inputNorm: { name: names.inputNorm, shape: [C] },
    q: weight('q_proj'),
    k: weight('k_proj'),
    v: weight('v_proj'),
    qBias: bias('q_proj'),
    kBias: bias('k_proj'),
    vBias: bias('v_proj'),
    o: weight('o_proj'),
    postNorm: { name: names.postNorm, shape: [C] },
    gate: weight('gate_proj'),
    up: weight('up_proj'),
    down: weight('down_proj'),
  };
}

/** The tensor names and shapes a config implies, in upload order. */
export function expectedTensors(config: ModelConfig): TensorSpec[] {
  const { architecture, hiddenSize: C, vocabSize: V } = config;
  const out: TensorSpec[] = [{ name: embeddingTensor(architecture), shape: [V, C] }];
  for (let l = 0; l < config.numLayers; l++) {
    for (const tensor of Object.values(layerTensors(config, l))) if (tensor) out.push(tensor);
  }
  out.push({ name: finalNormTensor(architecture), shape: [C] });
  if (!config.tieWordEmbeddings) out.push({ name: lmHeadTensor(architecture, false), shape: [V, C] });
  return out;
}

/**
 * The config against the checkpoint's header, before anything is sized from the config: vocab_size and
 * hidden_size against the embedding's shape, num_hidden_layers against the layers the tensor names hold. An
 * edited config.json, or one from another model, is refused here rather than exhausting memory.
 */
export function checkWeightsMatchConfig(config: ModelConfig, tensors: ReadonlyMap<string, TensorInfo>, label: string): void {
  const refuse = (reason: string): never => {
    throw new ModelConfigError(`${reason}; use the config.json that came with these weights`, label);
  };
  const embed = embeddingTensor(config.architecture);
  const info = tensors.get(embed);
  if (!info) throw new TensorMissingError(embed, label);
  const [rows, columns] = info.shape;
  if (info.shape.length !== 2) refuse(`the embedding ${embed} has shape [${info.shape}], not (vocab_size, hidden_size)`);
  if (rows !== config.vocabSize) refuse(`vocab_size is ${config.vocabSize} but the embedding ${embed} has ${rows} rows`);
  if (columns !== config.hiddenSize) refuse(`hidden_size is ${config.hiddenSize} but the embedding ${embed} has ${columns} columns`);
  const layers = layerCount(config.architecture, tensors.keys());
  if (layers !== config.numLayers) refuse(`num_hidden_layers is ${config.numLayers} but the weights hold ${layers} layers`);
}

export async function uploadWeights(
  ctx: GpuContext,
  config: ModelConfig,
  source: ModelWeights,
  label: string,
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number },
  onProgress: UploadProgress = () => {},
): Promise<GpuModelWeights> {
  checkWeightsMatchConfig(config, source.tensors, label);
  const expected = expectedTensors(config);
  // Check every name, shape and size before allocating anything on the GPU.
  for (const { name, shape } of expected) {
    const info = source.tensors.get(name);
    if (!info) throw new TensorMissingError(name, label);
    if (info.shape.join(',') !== shape.join(',')) {
      throw new ModelConfigError(`tensor ${name} has shape [${info.shape}] but the config implies [${shape}]`, label);
    }
    assertFitsGpu(name, shape.reduce((a, b) => a * b, 1) * 4, limits);
  }
  const dtype = ctx.weightDtype;
  const totalBytes = expected.reduce((a, { name }) => a + source.tensors.get(name)!.byteLength, 0);
  let loadedBytes = 0;
  const created: GPUBuffer[] = [];
  const buffers = new Map<string, GPUBuffer>();
  let bytes = 0;
  let parameterCount = 0;
  try {
    for (const { name, shape } of expected) {
      const info = source.tensors.get(name)!;
      const raw = await source.read(name);
      const bad = firstNonFinite(info.dtype, raw);
      if (bad >= 0) throw new NonFiniteWeightsError(name, label, bad);
      // Matrices (2-D) take the matmul dtype; norms and biases stay f32.
      const data = shape.length === 2 && dtype === 'f16' ? toFloat16Bits(info.dtype, raw) : toFloat32(info.dtype, raw);
      const buffer = ctx.upload(data, name);
      created.push(buffer);
      buffers.set(name, buffer);
      bytes += data.byteLength;
      parameterCount += shape.reduce((a, b) => a * b, 1);
      loadedBytes += info.byteLength;
      onProgress(loadedBytes, totalBytes);
    }
  } catch (error) {
    for (const buffer of created) buffer.destroy();
    throw error;
  }
  const vector = (name: string): GPUBuffer => buffers.get(name)!;
  const matrix = (name: string): GpuWeight => ({ buffer: vector(name), dtype });
  const layers = Array.from({ length: config.numLayers }, (_, l): LayerWeights => {
    const t = layerTensors(config, l);
    return {
      inputNorm: vector(t.inputNorm.name),
      q: matrix(t.q.name),
      k: matrix(t.k.name),
      v: matrix(t.v.name),
      qBias: t.qBias && vector(t.qBias.name),
      kBias: t.kBias && vector(t.kBias.name),
      vBias: t.vBias && vector(t.vBias.name),
      o: matrix(t.o.name),
      postNorm: vector(t.postNorm.name),
      gate: matrix(t.gate.name),
      up: matrix(t.up.name),
      down: matrix(t.down.name),
    };
  });
  return {
    embed: matrix(embeddingTensor(config.architecture)),
    layers,
    finalNorm: vector(finalNormTensor(config.architecture)),
    lmHead: matrix(lmHeadTensor(config.architecture, config.tieWordEmbeddings)),
    dtype,
    bytes,
    parameterCount,
  };
}

export function destroyWeights(weights: GpuModelWeights): void {
  const all = new Set<GPUBuffer>([weights.embed.buffer, weights.lmHead.buffer, weights.finalNorm]);
  for (const layer of weights.layers) {
    for (const value of Object.values(layer)) {
      if (value) all.add('buffer' in value ? value.buffer : value);
    }
  }
  for (const buffer of all) buffer.destroy();
}
