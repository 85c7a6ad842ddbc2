// Uploads a Llama-family checkpoint to the GPU once. Matmul weights become f16 where the device has
// shader-f16 (half the memory and bandwidth), everything else f32. A failed upload destroys what it made.
import type { GpuContext, GpuWeight } from '../gpu/context';
import type { ModelConfig } from './config';
import { ModelConfigError, TensorMissingError, assertFitsGpu } from './errors';
import { toFloat16Bits, toFloat32, type ModelWeights } from './safetensors';

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

/** The tensor names and shapes a config implies, in upload order. */
export function expectedTensors(config: ModelConfig): { name: string; shape: number[] }[] {
  const { hiddenSize: C, intermediateSize: H, numHeads: NH, numKvHeads: NKV, headDim: HS, vocabSize: V } = config;
  const out = [{ name: 'model.embed_tokens.weight', shape: [V, C] }];
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}`;
    out.push(
      { name: `${p}.input_layernorm.weight`, shape: [C] },
      { name: `${p}.self_attn.q_proj.weight`, shape: [NH * HS, C] },
      { name: `${p}.self_attn.k_proj.weight`, shape: [NKV * HS, C] },
      { name: `${p}.self_attn.v_proj.weight`, shape: [NKV * HS, C] },
    );
    if (config.attentionBias) {
      out.push(
        { name: `${p}.self_attn.q_proj.bias`, shape: [NH * HS] },
        { name: `${p}.self_attn.k_proj.bias`, shape: [NKV * HS] },
        { name: `${p}.self_attn.v_proj.bias`, shape: [NKV * HS] },
      );
    }
    out.push(
      { name: `${p}.self_attn.o_proj.weight`, shape: [C, NH * HS] },
      { name: `${p}.post_attention_layernorm.weight`, shape: [C] },
      { name: `${p}.mlp.gate_proj.weight`, shape: [H, C] },
      { name: `${p}.mlp.up_proj.weight`, shape: [H, C] },
      { name: `${p}.mlp.down_proj.weight`, shape: [C, H] },
    );
  }
  out.push({ name: 'model.norm.weight', shape: [C] });
  if (!config.tieWordEmbeddings) out.push({ name: 'lm_head.weight', shape: [V, C] });
  return out;
}

export async function uploadWeights(
  ctx: GpuContext,
  config: ModelConfig,
  source: ModelWeights,
  label: string,
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number },
  onProgress: UploadProgress = () => {},
): Promise<GpuModelWeights> {
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
  const dtype = ctx.shaderF16 ? 'f16' : 'f32';
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
  const matrix = (name: string): GpuWeight => ({ buffer: buffers.get(name)!, dtype });
  const vector = (name: string): GPUBuffer => buffers.get(name)!;
  const optional = (name: string): GPUBuffer | null => buffers.get(name) ?? null;
  const layers = Array.from({ length: config.numLayers }, (_, l): LayerWeights => {
    const p = `model.layers.${l}`;
    return {
      inputNorm: vector(`${p}.input_layernorm.weight`),
      q: matrix(`${p}.self_attn.q_proj.weight`),
      k: matrix(`${p}.self_attn.k_proj.weight`),
      v: matrix(`${p}.self_attn.v_proj.weight`),
      qBias: optional(`${p}.self_attn.q_proj.bias`),
      kBias: optional(`${p}.self_attn.k_proj.bias`),
      vBias: optional(`${p}.self_attn.v_proj.bias`),
      o: matrix(`${p}.self_attn.o_proj.weight`),
      postNorm: vector(`${p}.post_attention_layernorm.weight`),
      gate: matrix(`${p}.mlp.gate_proj.weight`),
      up: matrix(`${p}.mlp.up_proj.weight`),
      down: matrix(`${p}.mlp.down_proj.weight`),
    };
  });
  const embed = matrix('model.embed_tokens.weight');
  return {
    embed,
    layers,
    finalNorm: vector('model.norm.weight'),
    lmHead: config.tieWordEmbeddings ? embed : matrix('lm_head.weight'),
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
