// CPU twin of model/forward.ts built from the kernels' CPU twins: the oracle for whole-model GPU tests
// (biases, GQA, untied heads) on small random models. One sequence, logits for every position.
import type { ModelConfig } from '../model/config';
import { attentionForward } from './attention';
import { embeddingForward } from './embedding';
import { matmulForward } from './matmul';
import { residualForward } from './residual';
import { rmsnormForward } from './rmsnorm';
import { ropeForward } from './rope';
import { swigluForward } from './swiglu';

/** Weights by their Hugging Face names, as f32. */
export type CpuWeights = Map<string, Float32Array>;

/** logits (T, V) of `ids`. */
export function forwardLogits(config: ModelConfig, weights: CpuWeights, ids: number[]): Float32Array {
  const { hiddenSize: C, intermediateSize: H, numHeads: NH, numKvHeads: NKV, headDim: HS, vocabSize: V, rmsNormEps: eps } = config;
  const T = ids.length;
  const w = (name: string): Float32Array => {
    const tensor = weights.get(name);
    if (!tensor) throw new Error(`missing ${name}`);
    return tensor;
  };
  const idsU32 = Uint32Array.from(ids);
  const positions = Uint32Array.from(ids, (_, t) => t);
  const validFrom = Uint32Array.of(0);
  const x = new Float32Array(T * C); // (T, C)
  const xn = new Float32Array(T * C);
  const q = new Float32Array(T * NH * HS);
  const k = new Float32Array(T * NKV * HS); // doubles as the (1, T, NKV*HS) cache
  const v = new Float32Array(T * NKV * HS);
  const att = new Float32Array(T * NH * HS);
  const proj = new Float32Array(T * C);
  const gate = new Float32Array(T * H);
  const up = new Float32Array(T * H);
  const hidden = new Float32Array(T * H);
  const bias = (name: string) => (config.attentionBias ? w(name) : null);

  embeddingForward(x, idsU32, w('model.embed_tokens.weight'), T, C);
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}`;
    rmsnormForward(xn, x, w(`${p}.input_layernorm.weight`), T, C, eps);
    matmulForward(q, xn, w(`${p}.self_attn.q_proj.weight`), bias(`${p}.self_attn.q_proj.bias`), T, C, NH * HS);
    matmulForward(k, xn, w(`${p}.self_attn.k_proj.weight`), bias(`${p}.self_attn.k_proj.bias`), T, C, NKV * HS);
    matmulForward(v, xn, w(`${p}.self_attn.v_proj.weight`), bias(`${p}.self_attn.v_proj.bias`), T, C, NKV * HS);
    ropeForward(q, positions, T, NH, HS, config.ropeTheta);
    ropeForward(k, positions, T, NKV, HS, config.ropeTheta);
    attentionForward(att, q, k, v, validFrom, 1, T, NH, NKV, HS, T, 0);
    matmulForward(proj, att, w(`${p}.self_attn.o_proj.weight`), null, T, NH * HS, C);
    residualForward(x, proj, T * C);
    rmsnormForward(xn, x, w(`${p}.post_attention_layernorm.weight`), T, C, eps);
    matmulForward(gate, xn, w(`${p}.mlp.gate_proj.weight`), null, T, C, H);
    matmulForward(up, xn, w(`${p}.mlp.up_proj.weight`), null, T, C, H);
    swigluForward(hidden, gate, up, T, H);
    matmulForward(proj, hidden, w(`${p}.mlp.down_proj.weight`), null, T, H, C);
    residualForward(x, proj, T * C);
  }
  rmsnormForward(xn, x, w('model.norm.weight'), T, C, eps);
  const logits = new Float32Array(T * V);
  const head = config.tieWordEmbeddings ? w('model.embed_tokens.weight') : w('lm_head.weight');
  matmulForward(logits, xn, head, null, T, C, V);
  return logits;
}
