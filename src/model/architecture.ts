// The architecture table: per Hugging Face model_type, the config.json defaults and refusals and the names of
// the checkpoint's tensors. Every entry runs the same math (RMSNorm, RoPE, grouped-query attention, SwiGLU MLP),
// so another Llama-family architecture with that math is one more entry here. Names are module paths; a
// tensor's name is its module path + ".weight" or ".bias". Dimension letters as in config.ts.
/** A projection of a decoder layer, by its Hugging Face module name (lora.ts's LoRA targets are the same seven). */
export type Projection = 'q_proj' | 'k_proj' | 'v_proj' | 'o_proj' | 'gate_proj' | 'up_proj' | 'down_proj';
/** The projections that may carry a bias (the engine adds biases to q, k and v only). */
export type BiasedProjection = 'q_proj' | 'k_proj' | 'v_proj';

export interface Architecture {
  /** config.json's `architectures[0]` for the causal LM. */
  causalLm: string;
  /** The transformers config class's defaults, for keys a config.json may leave out. */
  defaults: { ropeTheta: number; rmsNormEps: number; maxPositionEmbeddings: number };
  /** config.json flags that change the math beyond what the engine runs: refused when true, with the reason. */
  refusedFlags: Record<string, string>;
  /** Projections with a bias (out) next to their weight. */
  biased: readonly BiasedProjection[];
  modules: {
    embed: string; // (V, C)
    /** Decoder layer l is `${layers}.${l}`; the module paths below are under it. */
    layers: string;
    inputNorm: string; // (C)
    projections: Record<Projection, string>; // weight (out, in), bias (out)
    postNorm: string; // (C)
    finalNorm: string; // (C)
    lmHead: string; // (V, C), absent when tie_word_embeddings
    /** The reward head of ...ForSequenceClassification: one row, read at each sequence's last token. */
    score: string; // (1, C)
  };
}

const llamaModules: Architecture['modules'] = {
  embed: 'model.embed_tokens',
  layers: 'model.layers',
  inputNorm: 'input_layernorm',
  projections: {
    q_proj: 'self_attn.q_proj',
    k_proj: 'self_attn.k_proj',
    v_proj: 'self_attn.v_proj',
    o_proj: 'self_attn.o_proj',
    gate_proj: 'mlp.gate_proj',
    up_proj: 'mlp.up_proj',
    down_proj: 'mlp.down_proj',
  },
  postNorm: 'post_attention_layernorm',
  finalNorm: 'model.norm',
  lmHead: 'lm_head',
  score: 'score',
};

export const architectures = {
  llama: {
    causalLm: 'LlamaForCausalLM',
    defaults: { ropeTheta: 10000, rmsNormEps: 1e-6, maxPositionEmbeddings: 2048 },
    // Llama's attention_bias also puts a bias on o_proj, which the engine does not have.
    refusedFlags: { attention_bias: 'attention_bias is not supported for llama' },
    biased: [],
    modules: llamaModules,
  },
  qwen2: {
    causalLm: 'Qwen2ForCausalLM',
    defaults: { ropeTheta: 10000, rmsNormEps: 1e-6, maxPositionEmbeddings: 32768 },
    refusedFlags: { use_sliding_window: 'use_sliding_window is not supported (full attention only)' },
    biased: ['q_proj', 'k_proj', 'v_proj'],
    modules: llamaModules,
  },
} satisfies Record<string, Architecture>;

/** A Hugging Face model_type the engine runs. */
export type ModelType = keyof typeof architectures;

export function isModelType(value: unknown): value is ModelType {
  return typeof value === 'string' && Object.hasOwn(architectures, value);
}

/** The model_type whose causal LM class is `className` (e.g. LlamaForCausalLM -> llama), if any. */
export function modelTypeOfClass(className: string): ModelType | undefined {
  return (Object.keys(architectures) as ModelType[]).find((type) => architectures[type].causalLm === className);
}

function modulesOf(type: ModelType): Architecture['modules'] {
  return architectures[type].modules;
}

export function embeddingTensor(type: ModelType): string {
  return `${modulesOf(type).embed}.weight`;
}

export function finalNormTensor(type: ModelType): string {
  return `${modulesOf(type).finalNorm}.weight`;
}

/** The LM head's weight: the embedding itself when the model ties them. */
export function lmHeadTensor(type: ModelType, tieWordEmbeddings: boolean): string {
  return tieWordEmbeddings ? embeddingTensor(type) : `${modulesOf(type).lmHead}.weight`;
}

/** The reward head's weight (1, C): `score` of ...ForSequenceClassification. */
export function rewardHeadTensor(type: ModelType): string {
  return `${modulesOf(type).score}.weight`;
}

/** The module path of a projection of layer `layer`, e.g. "model.layers.3.self_attn.q_proj". */
export function projectionModule(type: ModelType, layer: number, projection: Projection): string {
  const m = modulesOf(type);
  return `${m.layers}.${layer}.${m.projections[projection]}`;
}

/** projectionModule's inverse: the layer and projection of a module path, or null when it names none. */
export function parseProjectionModule(type: ModelType, module: string): { layer: number; projection: Projection } | null {
  const m = modulesOf(type);
  const layerPrefix = `${m.layers}.`;
  if (!module.startsWith(layerPrefix)) return null;
  const rest = module.slice(layerPrefix.length);
  const dot = rest.indexOf('.');
  const index = rest.slice(0, dot);
  if (dot < 0 || !/^\d+$/.test(index)) return null;
  const path = rest.slice(dot + 1);
  const projection = (Object.keys(m.projections) as Projection[]).find((p) => m.projections[p] === path);
  return projection ? { layer: Number(index), projection } : null;
}

/** The tensor names of decoder layer `layer`. */
export interface LayerTensorNames {
  inputNorm: string;
  postNorm: string;
  weight(projection: Projection): string;
  /** null where the architecture has no bias on the projection. */
  bias(projection: Projection): string | null;
}

export function layerTensorNames(type: ModelType, layer: number): LayerTensorNames {
  const m = modulesOf(type);
  const biased: readonly Projection[] = architectures[type].biased;
  const prefix = `${m.layers}.${layer}`;
  return {
    inputNorm: `${prefix}.${m.inputNorm}.weight`,
    postNorm: `${prefix}.${m.postNorm}.weight`,
    weight: (projection) => `${projectionModule(type, layer, projection)}.weight`,
    bias: (projection) => (biased.includes(projection) ? `${projectionModule(type, layer, projection)}.bias` : null),
  };
}

/** How many decoder layers tensor names hold: one more than the highest layer index among them (0 if none). */
export function layerCount(type: ModelType, names: Iterable<string>): number {
  const layerPrefix = `${modulesOf(type).layers}.`;
  let count = 0;
  for (const name of names) {
    if (!name.startsWith(layerPrefix)) continue;
    const index = /^\d+(?=\.)/.exec(name.slice(layerPrefix.length));
    if (index) count = Math.max(count, Number(index[0]) + 1);
  }
  return count;
}
