// CPU twin of model/forward.ts built from the kernels' CPU twins: the oracle for whole-model GPU tests
// (biases, GQA, untied heads) on small random models. One sequence, logits for every position.
import { embeddingTensor, finalNormTensor, layerTensorNames, lmHeadTensor, type Projection } from '../model/architecture';
import type { ModelConfig } from '../model/config';
import { attentionForward } from './attention';
import { embeddingForward } from './embedding';
import { matmulForward } from './matmul';
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
  const gate = new Float32Array(T * H);
  const up = new Float32Array(T * H);
  const hidden = new Float32Array(T * H);
  const type = config.architecture;

  embeddingForward(x, idsU32, w(embeddingTensor(type)), T, C);
  for (let l = 0; l < config.numLayers; l++) {
    const names = layerTensorNames(type, l);
    const weight = (p: Projection) => w(names.weight(p));
    const bias = (p: Projection) => {
      const name = names.bias(p);
      return name === null ? null : w(name);
    };
    rmsnormForward(xn, x, w(names.inputNorm), T, C, eps);
    matmulForward(q, xn, weight('q_proj'), bias('q_proj'), T, C, NH * HS);
    matmulForward(k, xn, weight('k_proj'), bias('k_proj'), T, C, NKV * HS);
    matmulForward(v, xn, weight('v_proj'), bias('v_proj'), T, C, NKV * HS);
    ropeForward(q, positions, T, NH, HS, config.ropeTheta);
    ropeForward(k, positions, T, NKV, HS, config.ropeTheta);
    attentionForward(att, q, k, v, validFrom, 1, T, NH, NKV, HS, T, 0);
    matmulForward(x, att, weight('o_proj'), null, T, NH * HS, C, true); // x += o_proj(att)
    rmsnormForward(xn, x, w(names.postNorm), T, C, eps);
    matmulForward(gate, xn, weight('gate_proj'), null, T, C, H);
    matmulForward(up, xn, weight('up_proj'), null, T, C, H);
    swigluForward(hidden, gate, up, T, H);
    matmulForward(x, hidden, weight('down_proj'), null, T, H, C, true); // x += down_proj(hidden)
  }
  rmsnormForward(xn, x, w(finalNormTensor(type)), T, C, eps);
  const logits = new Float32Array(T * V);
  matmulForward(logits, xn, w(lmHeadTensor(type, config.tieWordEmbeddings)), null, T, C, V);
  return logits;
}
