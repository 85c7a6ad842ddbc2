import { describe, expect, test } from 'vitest';
import { randomModelFiles } from '../../src/cli/bench-shapes';
import { loadConfig } from '../../src/model/config';
import { openModelWeights, toFloat32 } from '../../src/model/safetensors';
import { checkWeightsMatchConfig, expectedTensors } from '../../src/model/weights';

describe('bench shapes: random weights at a real model shape', () => {
  test('smollm2-135m has SmolLM2-135M config and every tensor in BF16, 134,515,008 parameters', async () => {
    const files = randomModelFiles('smollm2-135m');
    const config = await loadConfig(files);
    expect(config).toMatchObject({ hiddenSize: 576, intermediateSize: 1536, numLayers: 30, numHeads: 9, numKvHeads: 3, vocabSize: 49152, tieWordEmbeddings: true });
    const weights = await openModelWeights(files);
    checkWeightsMatchConfig(config, weights.tensors, files.label);
    const expected = expectedTensors(config);
    expect([...weights.tensors.keys()].sort()).toEqual(expected.map((t) => t.name).sort());
    let parameters = 0;
    for (const { name, shape } of expected) {
      const info = weights.tensors.get(name)!;
      expect(info.dtype).toBe('BF16');
      expect(info.shape).toEqual(shape);
      parameters += shape.reduce((a, b) => a * b, 1);
    }
    expect(parameters).toBe(134_515_008);

    const norm = toFloat32('BF16', await weights.read('model.norm.weight'));
    expect(norm.every((x) => x === 1)).toBe(true);
    const q = toFloat32('BF16', await weights.read('model.layers.29.self_attn.q_proj.weight'));
    const mean = q.reduce((a, b) => a + b, 0) / q.length;
    const std = Math.sqrt(q.reduce((a, b) => a + (b - mean) ** 2, 0) / q.length);
    expect(Math.abs(mean)).toBeLessThan(1e-3);
    expect(std).toBeCloseTo(0.02, 3);
  });
});
