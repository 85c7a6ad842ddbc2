import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/model/config';
import { ModelConfigError, NonFiniteLogitsError, NonFiniteWeightsError, TensorMissingError } from '../../src/model/errors';
import { toF16 } from '../../src/model/f16';
import { dirFiles } from '../../src/model/node-files';
import { firstNonFinite, openModelWeights, type Dtype } from '../../src/model/safetensors';
import { checkWeightsMatchConfig } from '../../src/model/weights';

const stories = path.resolve(__dirname, '../fixtures/stories260K');
const storiesConfig = JSON.parse(readFileSync(path.join(stories, 'config.json'), 'utf8')) as Record<string, unknown>;

describe('a config.json that disagrees with the weights is refused from the header alone', () => {
  async function refusal(patch: Record<string, unknown>): Promise<unknown> {
    const weights = await openModelWeights(dirFiles(stories));
    try {
      checkWeightsMatchConfig(parseConfig({ ...storiesConfig, ...patch }), weights.tensors, 'stories260K');
    } catch (e) {
      return e;
    }
    return null;
  }

  test('the fixture with its own config.json passes', async () => {
    expect(await refusal({})).toBeNull();
  });

  test.each([
    [{ num_hidden_layers: 10_000_000 }, /num_hidden_layers is 10000000 but the weights hold 5 layers/],
    [{ num_hidden_layers: 4 }, /num_hidden_layers is 4 but the weights hold 5 layers/],
    [{ vocab_size: 32000 }, /vocab_size is 32000 but the embedding model\.embed_tokens\.weight has 512 rows/],
    [{ hidden_size: 128 }, /hidden_size is 128 but the embedding model\.embed_tokens\.weight has 64 columns/],
  ])('%j', async (patch, reason) => {
    const error = await refusal(patch);
    expect(error).toBeInstanceOf(ModelConfigError);
    expect((error as Error).message).toMatch(reason);
    expect((error as Error).message).toMatch(/^config\.json of stories260K is not usable: .* use the config\.json that came with these weights/);
  });

  test('weights without the embedding name the missing tensor', () => {
    const tensors = new Map([['model.layers.0.input_layernorm.weight', { name: 'model.layers.0.input_layernorm.weight', dtype: 'F32' as const, shape: [64], byteLength: 256 }]]);
    expect(() => checkWeightsMatchConfig(parseConfig(storiesConfig), tensors, 'stories260K')).toThrow(TensorMissingError);
  });
});

describe('firstNonFinite', () => {
  const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
  const f16 = (values: number[]) => new Uint8Array(toF16(Float32Array.from(values)).buffer);
  const bf16 = (values: number[]) => {
    const bits = new Uint32Array(Float32Array.from(values).buffer);
    return new Uint8Array(Uint16Array.from(bits, (b) => b >>> 16).buffer);
  };
  const encoders: Record<Dtype, (values: number[]) => Uint8Array> = { F32: f32, F16: f16, BF16: bf16 };
  // Extremes of every dtype that are still finite: largest values, the smallest subnormal, signed zeros.
  const finite: Record<Dtype, number[]> = {
    F32: [0, -0, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, 1, -2.5],
    F16: [0, -0, 65504, -65504, 5.960464477539063e-8, 1, -2.5],
    BF16: [0, -0, 3.3895313892515355e38, -3.3895313892515355e38, 9.183549615799121e-41, 1, -2.5],
  };

  test.each(['F32', 'F16', 'BF16'] as const)('%s: the index of the first NaN or infinity, -1 when all are finite', (dtype) => {
    const encode = encoders[dtype];
    expect(firstNonFinite(dtype, encode(finite[dtype]))).toBe(-1);
    expect(firstNonFinite(dtype, encode([...finite[dtype], NaN, Infinity]))).toBe(7);
    expect(firstNonFinite(dtype, encode([1, Infinity]))).toBe(1);
    expect(firstNonFinite(dtype, encode([-Infinity, 1]))).toBe(0);
  });

  test('reads tensors at any byte offset (slices of a file)', () => {
    const file = new Uint8Array(1 + 12);
    file.set(f32([1, 2, NaN]), 1);
    expect(firstNonFinite('F32', file.subarray(1))).toBe(2);
  });
});

describe('error messages say what to do', () => {
  test('NonFiniteWeightsError names the tensor and calls the file corrupt', () => {
    const error = new NonFiniteWeightsError('model.layers.3.mlp.up_proj.weight', 'org/model', 17);
    expect(error.message).toMatch(/^Tensor model\.layers\.3\.mlp\.up_proj\.weight of org\/model holds NaN or infinite values \(the first at element 17\): the file is corrupt\. Re-download/);
  });

  test('NonFiniteLogitsError blames the weights, the adapter or the learning rate, and says to reload', () => {
    expect(new NonFiniteLogitsError(4).message).toMatch(/NaN or infinite logits at generation step 4: .*adapter.*learning rate.*Reload the model, or load a different adapter/);
  });
});
