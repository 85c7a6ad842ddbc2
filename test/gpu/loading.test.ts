// uploadWeights refuses what cannot be run before it allocates anything large: a config.json that disagrees
// with the tensors, and tensors holding NaN or infinities (named, so the user knows the file is corrupt).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { nodeGpu } from '../../src/gpu/node';
import { parseConfig } from '../../src/model/config';
import { ModelConfigError, NonFiniteWeightsError } from '../../src/model/errors';
import { bytesSource } from '../../src/model/files';
import { dirFiles } from '../../src/model/node-files';
import { openModelWeights, openSafetensors, writeSafetensors, type TensorData } from '../../src/model/safetensors';
import { expectedTensors, uploadWeights } from '../../src/model/weights';
import { tinyConfig } from '../fixtures/random-model';
import { randn, seeded } from '../util';
import { testContext } from './harness';

async function upload(config: Parameters<typeof uploadWeights>[1], weights: Parameters<typeof uploadWeights>[2]) {
  return uploadWeights(await testContext(), config, weights, 'test model', (await nodeGpu()).info.limits);
}

describe('uploadWeights refuses before allocating', () => {
  test('stories260K with a config.json claiming 10000000 layers', async () => {
    const stories = path.resolve(__dirname, '../fixtures/stories260K');
    const config = parseConfig({ ...JSON.parse(readFileSync(path.join(stories, 'config.json'), 'utf8')), num_hidden_layers: 10_000_000 });
    const error = await upload(config, await openModelWeights(dirFiles(stories))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelConfigError);
    expect((error as Error).message).toMatch(/num_hidden_layers is 10000000 but the weights hold 5 layers/);
  });

  test.each(['F32', 'BF16'] as const)('a %s tensor holding NaN, named in the error', async (dtype) => {
    const config = tinyConfig();
    const rng = seeded(4);
    const bad = 'model.layers.1.mlp.up_proj.weight';
    const tensors: TensorData[] = expectedTensors(config).map(({ name, shape }) => {
      const values = randn(rng, shape.reduce((a, b) => a * b, 1));
      if (name !== bad) return { name, dtype: 'F32', shape, data: values };
      values[123] = NaN;
      const bf16 = Uint16Array.from(new Uint32Array(values.buffer), (bits) => bits >>> 16);
      return { name, dtype, shape, data: dtype === 'F32' ? values : bf16 };
    });
    const weights = await openSafetensors(bytesSource('model.safetensors', writeSafetensors(tensors)));
    const error = await upload(config, weights).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteWeightsError);
    expect((error as Error).message).toMatch(/^Tensor model\.layers\.1\.mlp\.up_proj\.weight of test model holds NaN .*element 123\): the file is corrupt/);
  });
});
