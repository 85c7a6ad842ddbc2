// config.json -> ModelConfig. Dimension letters used across the engine:
// V vocab, C hidden size, H MLP intermediate size, L layers, NH query heads, NKV key/value heads, HS head dim.
export interface ModelConfig {
  architecture: 'llama' | 'qwen2';
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
  /** q/k/v projections carry biases (Qwen2). */
  attentionBias: boolean;
  maxPositionEmbeddings: number;
  bosTokenId: number | null;
  eosTokenIds: number[];
}
