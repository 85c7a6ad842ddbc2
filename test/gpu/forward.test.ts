// The GPU forward pass against its CPU twin (src/ref/forward.ts) on small random models of every supported
// variant, and batched generation of prompts of different lengths against one-at-a-time runs.
import { afterAll, describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine';
import { memoryCache } from '../../src/model/file-cache';
import { dirFiles } from '../../src/model/node-files';
import { nodeGpu } from '../../src/gpu/node';
import { forwardLogits } from '../../src/ref/forward';
import { tinyConfig, writeRandomModel } from '../fixtures/random-model';
import { expectAllClose } from '../util';

const engine = new Engine({ gpu: nodeGpu, hubCache: memoryCache() });
afterAll(() => engine.unloadModel());

const variants = {
  'llama, GQA, untied head': tinyConfig(),
  'llama, tied embeddings, MHA': tinyConfig({ tieWordEmbeddings: true, numKvHeads: 6 }),
  'qwen2 with q/k/v biases': tinyConfig({ architecture: 'qwen2', attentionBias: true, numHeads: 4, numKvHeads: 1, headDim: 6, ropeTheta: 1e6 }),
};

describe('model forward on the GPU', () => {
  test.each(Object.entries(variants))('matches the CPU twin: %s', async (_, config) => {
    const model = await writeRandomModel(config, 3);
    await engine.loadFiles(dirFiles(model.dir));
    const ids = [1, 5, 17, 96, 3, 3, 40, 2, 11];
    const { logits } = await engine.logits(ids);
    expectAllClose(logits, forwardLogits(config, model.weights, ids), { atol: 1e-4, rtol: 1e-3 });
  });

  test('prompts of different lengths decode together as they do alone', async () => {
    const model = await writeRandomModel(tinyConfig({ architecture: 'qwen2', attentionBias: true }), 5);
    await engine.loadFiles(dirFiles(model.dir));
    const prompts = [[1, 8, 9, 10, 11, 12, 13], [1, 44], [1, 70, 71, 72]];
    const request = { n: 2, maxNewTokens: 10, sampling: { temperature: 1, topK: 0, topP: 1, seed: 11 }, ignoreEos: true };
    const together = await engine.generate({ ...request, prompts: prompts.map((ids) => ({ ids })) });
    expect(together.samples).toHaveLength(6);
    for (const [p, ids] of prompts.entries()) {
      const alone = await engine.generate({ ...request, prompts: [{ ids }] });
      expect(together.samples.slice(p * 2, p * 2 + 2).map((s) => s.ids)).toEqual(alone.samples.map((s) => s.ids));
    }
  });
});
