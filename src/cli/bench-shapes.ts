// Real models' shapes with random BF16 weights, built in process (nothing is downloaded), so the bench can measure a
// GPU at real scale. The values are random; only the shapes, dtypes and layout are the real model's.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../model/config';
import { memoryFiles, type ModelFiles } from '../model/files';
import { writeSafetensors } from '../model/safetensors';
import { expectedTensors } from '../model/weights';

/** config.json of each shape, as the model's own file has it (the keys the studio reads). */
const shapes = {
  'smollm2-135m': {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: 576,
    intermediate_size: 1536,
    num_attention_heads: 9,
    num_hidden_layers: 30,
    num_key_value_heads: 3,
    vocab_size: 49152,
    max_position_embeddings: 8192,
    rms_norm_eps: 1e-5,
    rope_theta: 100000,
    tie_word_embeddings: true,
    bos_token_id: 0,
    eos_token_id: 0,
    torch_dtype: 'bfloat16',
  },
} as const;

export type BenchShape = keyof typeof shapes;
export const benchShapes = Object.keys(shapes) as BenchShape[];

/**
 * `shape`'s config.json and a model.safetensors of BF16 weights: matrices uniform with the model's usual 0.02
 * standard deviation, norm weights 1.
 */
export function randomModelFiles(shape: BenchShape, seed = 1): ModelFiles {
  const { config, safetensors } = randomModel(shape, seed);
  return memoryFiles({ 'config.json': config, 'model.safetensors': safetensors }, `${shape} (random weights)`);
}

/**
 * `shape`'s random model written as a Hugging Face folder under `root` (so another program, such as the TF.js
 * peer, reads the same weights), and that folder's path. A folder already holding this shape is kept as it is.
 */
export function writeRandomModel(shape: BenchShape, root: string, seed = 1): string {
  const dir = join(root, `${shape}-seed${seed}`);
  const configPath = join(dir, 'config.json');
  const weightsPath = join(dir, 'model.safetensors');
  const config = JSON.stringify(shapes[shape]);
  if (existsSync(weightsPath) && existsSync(configPath) && readFileSync(configPath, 'utf8') === config) return dir;
  const { safetensors } = randomModel(shape, seed);
  mkdirSync(dir, { recursive: true });
  // Written under another name first, so an interrupted write never looks like a finished folder.
  writeFileSync(`${weightsPath}.partial`, safetensors);
  renameSync(`${weightsPath}.partial`, weightsPath);
  writeFileSync(configPath, config);
  return dir;
}

function randomModel(shape: BenchShape, seed: number): { config: string; safetensors: Uint8Array } {
  const json = shapes[shape];
  const config = parseConfig(json, shape);
  let state = seed >>> 0 || 1;
  const halfWidth = 0.02 * Math.sqrt(3);
  const f32 = new Float32Array(1);
  const bits = new Uint32Array(f32.buffer);
  const bf16 = (x: number) => {
    f32[0] = x;
    return bits[0] >>> 16;
  };
  const one = bf16(1);
  const tensors = expectedTensors(config).map(({ name, shape: dims }) => {
    const data = new Uint16Array(dims.reduce((a, b) => a * b, 1));
    if (dims.length === 1) data.fill(one);
    else {
      for (let i = 0; i < data.length; i++) {
        // xorshift32: fast enough for 135M values, and the same weights on every run.
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        data[i] = bf16(((state >>> 0) / 2 ** 32 - 0.5) * 2 * halfWidth);
      }
    }
    return { name, dtype: 'BF16' as const, shape: dims, data };
  });
  return { config: JSON.stringify(json), safetensors: writeSafetensors(tensors) };
}
