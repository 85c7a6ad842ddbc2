import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadConfig, parseConfig, type ModelConfig } from '../../src/model/config';
import { ModelConfigError, ModelFileMissingError, UnsupportedArchitectureError } from '../../src/model/errors';
import { memoryFiles } from '../../src/model/files';
import { dirFiles } from '../../src/model/node-files';

// Public config.json values of the models the studio targets (abridged to the keys that matter, plus a few
// it ignores, as the real files have them).
const smolLM2Instruct = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 576,
  initializer_range: 0.041666666666666664,
  intermediate_size: 1536,
  is_llama_config: true,
  max_position_embeddings: 8192,
  model_type: 'llama',
  num_attention_heads: 9,
  num_hidden_layers: 30,
  num_key_value_heads: 3,
  pad_token_id: 2,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_interleaved: false,
  rope_scaling: null,
  rope_theta: 100000,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  use_cache: true,
  vocab_size: 49152,
};

const qwen25 = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  hidden_act: 'silu',
  hidden_size: 896,
  initializer_range: 0.02,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 21,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

const tinyLlama = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 5632,
  max_position_embeddings: 2048,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 22,
  num_key_value_heads: 4,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 10000.0,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  use_cache: true,
  vocab_size: 32000,
};

describe('parseConfig on real configs', () => {
  test('stories260K (the test fixture)', async () => {
    const config = await loadConfig(dirFiles(path.resolve(__dirname, '../fixtures/stories260K')));
    expect(config).toEqual<ModelConfig>({
      architecture: 'llama',
      vocabSize: 512,
      hiddenSize: 64,
      intermediateSize: 172,
      numLayers: 5,
      numHeads: 8,
      numKvHeads: 4,
      headDim: 8,
      ropeTheta: 10000,
      rmsNormEps: 1e-5,
      tieWordEmbeddings: true,
      attentionBias: false,
      maxPositionEmbeddings: 512,
      bosTokenId: 1,
      eosTokenIds: [2],
    });
  });

  test('SmolLM2-135M-Instruct: GQA 9/3 heads, tied embeddings, rope_theta 1e5', () => {
    expect(parseConfig(smolLM2Instruct)).toEqual<ModelConfig>({
      architecture: 'llama',
      vocabSize: 49152,
      hiddenSize: 576,
      intermediateSize: 1536,
      numLayers: 30,
      numHeads: 9,
      numKvHeads: 3,
      headDim: 64,
      ropeTheta: 100000,
      rmsNormEps: 1e-5,
      tieWordEmbeddings: true,
      attentionBias: false,
      maxPositionEmbeddings: 8192,
      bosTokenId: 1,
      eosTokenIds: [2],
    });
  });

  test('Qwen2.5-0.5B-Instruct: q/k/v biases, 14/2 heads', () => {
    expect(parseConfig(qwen25)).toEqual<ModelConfig>({
      architecture: 'qwen2',
      vocabSize: 151936,
      hiddenSize: 896,
      intermediateSize: 4864,
      numLayers: 24,
      numHeads: 14,
      numKvHeads: 2,
      headDim: 64,
      ropeTheta: 1000000,
      rmsNormEps: 1e-6,
      tieWordEmbeddings: true,
      attentionBias: true,
      maxPositionEmbeddings: 32768,
      bosTokenId: 151643,
      eosTokenIds: [151645],
    });
  });

  test('TinyLlama-1.1B-Chat: untied lm_head, 32/4 heads', () => {
    const config = parseConfig(tinyLlama);
    expect(config).toMatchObject({ numHeads: 32, numKvHeads: 4, headDim: 64, tieWordEmbeddings: false, vocabSize: 32000 });
  });
});

describe('defaults and variants', () => {
  const minimal = {
    model_type: 'llama',
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    vocab_size: 100,
  };

  test('missing optional keys take the Hugging Face class defaults', () => {
    expect(parseConfig(minimal)).toEqual<ModelConfig>({
      architecture: 'llama',
      vocabSize: 100,
      hiddenSize: 64,
      intermediateSize: 128,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 4,
      headDim: 16,
      ropeTheta: 10000,
      rmsNormEps: 1e-6,
      tieWordEmbeddings: false,
      attentionBias: false,
      maxPositionEmbeddings: 2048,
      bosTokenId: null,
      eosTokenIds: [],
    });
    const qwen = parseConfig({ ...minimal, model_type: 'qwen2' });
    expect(qwen).toMatchObject({ architecture: 'qwen2', attentionBias: true, maxPositionEmbeddings: 32768, tieWordEmbeddings: false });
  });

  test('explicit head_dim wins over hidden_size / heads', () => {
    expect(parseConfig({ ...minimal, head_dim: 32 }).headDim).toBe(32);
    expect(parseConfig({ ...minimal, hidden_size: 66, head_dim: 16 }).headDim).toBe(16);
  });

  test('eos_token_id may be a list; bos 0 is a valid id', () => {
    const config = parseConfig({ ...minimal, bos_token_id: 0, eos_token_id: [128001, 128008, 128009] });
    expect(config.bosTokenId).toBe(0);
    expect(config.eosTokenIds).toEqual([128001, 128008, 128009]);
  });

  test('rope_parameters of the default type carries rope_theta', () => {
    expect(parseConfig({ ...minimal, rope_parameters: { rope_type: 'default', rope_theta: 500000 } }).ropeTheta).toBe(500000);
  });
});

describe('refusals', () => {
  const base = { ...tinyLlama };

  test.each([
    [{ hidden_size: 0 }, /hidden_size is 0, not a positive integer/],
    [{ num_hidden_layers: 2.5 }, /num_hidden_layers is 2.5/],
    [{ vocab_size: '32000' }, /vocab_size is "32000"/],
    [{ intermediate_size: undefined }, /intermediate_size is missing/],
    [{ num_key_value_heads: 5 }, /num_attention_heads \(32\) is not a multiple of num_key_value_heads \(5\)/],
    [{ hidden_size: 2050 }, /not a multiple of num_attention_heads .* no head_dim/],
    [{ rms_norm_eps: -1 }, /rms_norm_eps is -1/],
    [{ rope_theta: 0 }, /rope_theta is 0/],
    [{ tie_word_embeddings: 'yes' }, /tie_word_embeddings is "yes"/],
    [{ eos_token_id: [2, -1] }, /eos_token_id \[2,-1\]/],
    [{ bos_token_id: 1.5 }, /bos_token_id 1.5/],
    [{ hidden_act: 'gelu' }, /hidden_act "gelu" is not supported/],
    [{ rope_scaling: { rope_type: 'llama3', factor: 32 } }, /rope_scaling .* is not supported/],
    [{ mlp_bias: true }, /mlp_bias/],
    [{ attention_bias: true }, /attention_bias is not supported/],
  ])('%j', (patch, message) => {
    const error = (() => {
      try {
        parseConfig({ ...base, ...patch });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ModelConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/^config.json is not usable: .*Check that/);
  });

  test('the label names the model in the message', () => {
    expect(() => parseConfig({ ...base, hidden_size: -4 }, 'org/model')).toThrow(/^config.json of org\/model is not usable: hidden_size is -4/);
  });

  test('Qwen2 sliding-window attention is refused', () => {
    expect(() => parseConfig({ ...qwen25, use_sliding_window: true })).toThrow(ModelConfigError);
  });

  test('other architectures name what is supported', () => {
    expect(() => parseConfig({ ...base, architectures: ['MistralForCausalLM'], model_type: 'mistral' })).toThrow(
      /Model architecture MistralForCausalLM is not supported. Supported: LlamaForCausalLM \(llama\), Qwen2ForCausalLM \(qwen2\)/,
    );
    expect(() => parseConfig({ hidden_size: 1, model_type: 'gpt2' })).toThrow(UnsupportedArchitectureError);
    expect(() => parseConfig({ hidden_size: 1 })).toThrow(/unknown \(config.json names none\)/);
    expect(() => parseConfig([1])).toThrow(ModelConfigError);
  });

  test('loadConfig: a missing or broken config.json', async () => {
    await expect(loadConfig(memoryFiles({}, 'folder x'))).rejects.toThrow(ModelFileMissingError);
    await expect(loadConfig(memoryFiles({ 'config.json': '{"a":' }))).rejects.toThrow(/config.json of in-memory model is not usable: it is not JSON/);
    const text = readFileSync(path.resolve(__dirname, '../fixtures/stories260K/config.json'), 'utf8');
    expect((await loadConfig(memoryFiles({ 'config.json': text }))).numLayers).toBe(5);
  });
});
