import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  architectures,
  layerCount,
  lmHeadTensor,
  parseProjectionModule,
  projectionModule,
  rewardHeadTensor,
  type ModelType,
} from '../../src/model/architecture';
import { loraTargets } from '../../src/model/lora';
import { dirFiles } from '../../src/model/node-files';
import { openModelWeights } from '../../src/model/safetensors';
import { expectedTensors } from '../../src/model/weights';
import { peftTensorKey } from '../../src/train/peft';
import { tinyConfig } from '../fixtures/random-model';

const types = Object.keys(architectures) as ModelType[];

describe('the architecture table', () => {
  // Tensor names as they appear in the Hugging Face checkpoints (SmolLM2, TinyLlama: llama; Qwen2.5: qwen2).
  const layer0 = (biases: string[]) => [
    'model.layers.0.input_layernorm.weight',
    'model.layers.0.self_attn.q_proj.weight',
    'model.layers.0.self_attn.k_proj.weight',
    'model.layers.0.self_attn.v_proj.weight',
    ...biases,
    'model.layers.0.self_attn.o_proj.weight',
    'model.layers.0.post_attention_layernorm.weight',
    'model.layers.0.mlp.gate_proj.weight',
    'model.layers.0.mlp.up_proj.weight',
    'model.layers.0.mlp.down_proj.weight',
  ];

  test('llama: the Hugging Face names, in upload order, with lm_head only when untied', () => {
    const untied = expectedTensors(tinyConfig({ numLayers: 1, tieWordEmbeddings: false }));
    expect(untied.map((t) => t.name)).toEqual(['model.embed_tokens.weight', ...layer0([]), 'model.norm.weight', 'lm_head.weight']);
    const tied = expectedTensors(tinyConfig({ numLayers: 1, tieWordEmbeddings: true }));
    expect(tied.map((t) => t.name)).toEqual(['model.embed_tokens.weight', ...layer0([]), 'model.norm.weight']);
    expect(lmHeadTensor('llama', true)).toBe('model.embed_tokens.weight');
  });

  test('qwen2: q/k/v biases after the q/k/v weights, shaped (out)', () => {
    const config = tinyConfig({ architecture: 'qwen2', attentionBias: true, numLayers: 1 });
    const tensors = expectedTensors(config);
    expect(tensors.map((t) => t.name)).toEqual([
      'model.embed_tokens.weight',
      ...layer0(['model.layers.0.self_attn.q_proj.bias', 'model.layers.0.self_attn.k_proj.bias', 'model.layers.0.self_attn.v_proj.bias']),
      'model.norm.weight',
      'lm_head.weight',
    ]);
    const shape = (name: string) => tensors.find((t) => t.name === name)!.shape;
    expect(shape('model.layers.0.self_attn.q_proj.bias')).toEqual([6 * 4]);
    expect(shape('model.layers.0.self_attn.k_proj.bias')).toEqual([2 * 4]);
    expect(shape('model.layers.0.self_attn.q_proj.weight')).toEqual([6 * 4, 24]);
    expect(shape('model.layers.0.mlp.down_proj.weight')).toEqual([24, 40]);
  });

  test.each(types)('%s: parseProjectionModule inverts projectionModule and refuses other modules', (type) => {
    for (const projection of loraTargets) {
      expect(parseProjectionModule(type, projectionModule(type, 11, projection))).toEqual({ layer: 11, projection });
    }
    for (const module of ['model.layers.0.mlp.q_proj', 'model.layers.x.self_attn.q_proj', 'lm_head', 'model.layers.3', 'model.layers.1.self_attn.q_proj.base_layer']) {
      expect(parseProjectionModule(type, module), module).toBeNull();
    }
  });

  test('every projection has a module path (the LoRA targets are the projections)', () => {
    for (const type of types) {
      expect(Object.keys(architectures[type].modules.projections).sort()).toEqual([...loraTargets].sort());
    }
  });

  test('layerCount: one more than the highest layer index, from the names alone', async () => {
    const weights = await openModelWeights(dirFiles(path.resolve(__dirname, '../fixtures/stories260K')));
    expect(layerCount('llama', weights.tensors.keys())).toBe(5);
    expect(layerCount('llama', ['model.layers.12.mlp.up_proj.weight', 'model.layers.2.input_layernorm.weight'])).toBe(13);
    expect(layerCount('llama', ['model.embed_tokens.weight', 'model.layers_extra.7.weight'])).toBe(0);
  });

  test('the reward head is score.weight, saved by PEFT as base_model.model.score.weight', () => {
    for (const type of types) {
      expect(rewardHeadTensor(type)).toBe('score.weight');
      expect(peftTensorKey(rewardHeadTensor(type))).toBe('base_model.model.score.weight');
    }
  });
});
