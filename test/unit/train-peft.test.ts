import { describe, expect, test } from 'vitest';
import { bytesSource } from '../../src/model/files';
import { openSafetensors, toFloat32, writeSafetensors, type TensorData } from '../../src/model/safetensors';
import { toF16 } from '../../src/model/f16';
import { NonFiniteWeightsError } from '../../src/model/errors';
import { expectedTensors } from '../../src/model/weights';
import type { LoraAdapter, LoraTarget } from '../../src/model/lora';
import { initAdapter } from '../../src/train/init';
import {
  exportMergedSafetensors,
  exportPeftAdapter,
  importPeftAdapter,
  mergeAdapter,
  peftKey,
  PeftExportError,
  PeftImportError,
  verifyPeftExport,
} from '../../src/train/peft';
import { randn, seeded } from '../util';
import { tinyConfig } from '../fixtures/random-model';

// tinyConfig: C 24, H 40, NH 6, NKV 2, HS 4, L 2.
const config = tinyConfig();

/** A trained-looking adapter: random A and B. */
function trainedAdapter(targets: LoraTarget[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], rank = 3): LoraAdapter {
  const adapter = initAdapter(config, { rank, alpha: 16, dropout: 0.05, targets }, 'HuggingFaceTB/SmolLM2-135M-Instruct', 5);
  const rng = seeded(8);
  for (const m of adapter.modules) m.B = randn(rng, m.B.length, 0.1);
  return adapter;
}

const bitsOf = (x: Float32Array) => [...new Uint32Array(x.buffer, x.byteOffset, x.length)];

describe('exportPeftAdapter', () => {
  test('adapter_config.json has the PEFT fields', () => {
    const files = exportPeftAdapter(trainedAdapter(['v_proj', 'q_proj', 'down_proj']));
    expect(JSON.parse(files.configJson)).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 3,
      lora_alpha: 16,
      lora_dropout: 0.05,
      target_modules: ['q_proj', 'v_proj', 'down_proj'],
      bias: 'none',
      base_model_name_or_path: 'HuggingFaceTB/SmolLM2-135M-Instruct',
      fan_in_fan_out: false,
      inference_mode: true,
      init_lora_weights: true,
      modules_to_save: null,
      use_rslora: false,
      use_dora: false,
    });
  });

  test('keys, shapes and values read back bit-exactly with openSafetensors', async () => {
    const adapter = trainedAdapter();
    const files = exportPeftAdapter(adapter);
    const st = await openSafetensors(bytesSource('adapter_model.safetensors', files.safetensors));
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(st.tensors.size).toBe(2 * 7 * config.numLayers);
    const q = st.tensors.get('base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight')!;
    expect(q.shape).toEqual([3, 24]);
    expect(st.tensors.get('base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight')!.shape).toEqual([8, 3]);
    expect(st.tensors.get('base_model.model.model.layers.1.mlp.down_proj.lora_A.weight')!.shape).toEqual([3, 40]);
    expect(st.tensors.get('base_model.model.model.layers.0.mlp.gate_proj.lora_B.weight')!.shape).toEqual([40, 3]);
    for (const m of adapter.modules) {
      for (const which of ['A', 'B'] as const) {
        const info = st.tensors.get(peftKey(m.layer, m.target, which))!;
        expect(info.dtype).toBe('F32');
        expect(bitsOf(toFloat32(info.dtype, await st.read(info.name)))).toEqual(bitsOf(m[which]));
      }
    }
  });

  test('export then import is the same adapter, bit for bit', () => {
    const adapter = trainedAdapter(['k_proj', 'up_proj']);
    const files = exportPeftAdapter(adapter);
    const back = importPeftAdapter(files.configJson, files.safetensors, config);
    expect({ ...back, modules: [] }).toEqual({ ...adapter, modules: [] });
    expect(back.modules.map((m) => [m.layer, m.target, m.inFeatures, m.outFeatures])).toEqual(
      adapter.modules.map((m) => [m.layer, m.target, m.inFeatures, m.outFeatures]),
    );
    back.modules.forEach((m, i) => {
      expect(bitsOf(m.A)).toEqual(bitsOf(adapter.modules[i].A));
      expect(bitsOf(m.B)).toEqual(bitsOf(adapter.modules[i].B));
    });
  });

  test('the self-test catches a changed value, a wrong config and a missing tensor', () => {
    const adapter = trainedAdapter(['q_proj']);
    const files = exportPeftAdapter(adapter);
    const flipped = files.safetensors.slice();
    flipped[flipped.length - 1] ^= 1;
    expect(() => verifyPeftExport({ ...files, safetensors: flipped }, adapter)).toThrow(PeftExportError);
    expect(() => verifyPeftExport({ ...files, safetensors: flipped }, adapter)).toThrow(/differs from the adapter at byte/);
    const wrongRank = JSON.stringify({ ...JSON.parse(files.configJson), r: 4 });
    expect(() => verifyPeftExport({ ...files, configJson: wrongRank }, adapter)).toThrow(/r is 4, not 3/);
    const fewer = { ...adapter, modules: adapter.modules.slice(1) };
    expect(() => verifyPeftExport(files, fewer)).toThrow(/unexpected tensor base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight/);
    expect(() => verifyPeftExport(exportPeftAdapter(fewer), adapter)).toThrow(/is missing/);
  });
});

/** An adapter as another trainer (a recent PEFT release) saves it, with half-precision tensors. */
function foreignAdapter(options: { dtype?: 'F16' | 'BF16'; withDefault?: boolean; config?: Record<string, unknown>; drop?: string; extra?: TensorData; shapes?: Record<string, number[]> } = {}) {
  const configJson = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: 'TinyLlama/TinyLlama-1.1B-Chat-v1.0',
    bias: 'none',
    eva_config: null,
    exclude_modules: null,
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: 32,
    lora_bias: false,
    lora_dropout: 0.1,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    peft_type: 'LORA',
    r: 2,
    rank_pattern: {},
    revision: null,
    target_modules: ['v_proj', 'q_proj'],
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: false,
    ...options.config,
  };
  // Values k / 64 with small k are exact in F16 and BF16, so the import must return them exactly.
  const values = new Map<string, Float32Array>();
  const tensors: TensorData[] = [];
  const dtype = options.dtype ?? 'BF16';
  for (let layer = 0; layer < config.numLayers; layer++) {
    for (const [target, out] of [['q_proj', 24], ['v_proj', 8]] as const) {
      for (const [which, shape] of [['A', [2, 24]], ['B', [out, 2]]] as const) {
        const key = peftKey(layer, target, which);
        const name = options.withDefault ? key.replace(/\.weight$/, '.default.weight') : key;
        if (name === options.drop) continue;
        const finalShape = options.shapes?.[name] ?? [...shape];
        const n = finalShape.reduce((a, b) => a * b, 1);
        const data = Float32Array.from({ length: n }, (_, i) => ((i * 7 + layer * 3 + (which === 'A' ? 1 : 2)) % 41 - 20) / 64);
        values.set(`${layer}.${target}.${which}`, data);
        const bits = dtype === 'F16' ? toF16(data) : Uint16Array.from(new Uint32Array(data.buffer), (x) => x >>> 16);
        tensors.push({ name, dtype, shape: finalShape, data: bits });
      }
    }
  }
  if (options.extra) tensors.push(options.extra);
  return { configJson: JSON.stringify(configJson), safetensors: writeSafetensors(tensors, { format: 'pt' }), values };
}

describe('importPeftAdapter', () => {
  test.each([
    ['BF16 keys without .default', { dtype: 'BF16' as const }],
    ['F16 keys with .default', { dtype: 'F16' as const, withDefault: true }],
  ])('an adapter from another trainer: %s', (_, options) => {
    const { configJson, safetensors, values } = foreignAdapter(options);
    const adapter = importPeftAdapter(configJson, safetensors, config);
    expect({ ...adapter, modules: [] }).toEqual({
      rank: 2,
      alpha: 32,
      dropout: 0.1,
      targets: ['q_proj', 'v_proj'],
      baseModel: 'TinyLlama/TinyLlama-1.1B-Chat-v1.0',
      modules: [],
    });
    expect(adapter.modules.map((m) => `${m.layer}.${m.target}`)).toEqual(['0.q_proj', '0.v_proj', '1.q_proj', '1.v_proj']);
    for (const m of adapter.modules) {
      expect([...m.A]).toEqual([...values.get(`${m.layer}.${m.target}.A`)!]);
      expect([...m.B]).toEqual([...values.get(`${m.layer}.${m.target}.B`)!]);
      expect(m.A.length).toBe(2 * m.inFeatures);
    }
  });

  test('"all-linear" targets and a single layers_to_transform', () => {
    const adapter = trainedAdapter(undefined, 2);
    const files = exportPeftAdapter({ ...adapter, modules: adapter.modules.filter((m) => m.layer === 1) });
    const configJson = JSON.stringify({ ...JSON.parse(files.configJson), target_modules: 'all-linear', layers_to_transform: 1 });
    const back = importPeftAdapter(configJson, files.safetensors, config);
    expect(back.targets).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
    expect(back.modules.map((m) => m.layer)).toEqual(new Array(7).fill(1));
  });

  const q0A = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight';
  test.each([
    ['DoRA', { config: { use_dora: true } }, /DoRA \(use_dora: true\) is not supported/],
    ['rsLoRA', { config: { use_rslora: true } }, /rsLoRA .* is not supported/],
    ['fan_in_fan_out', { config: { fan_in_fan_out: true } }, /fan_in_fan_out: true .* is not supported/],
    ['biases', { config: { bias: 'lora_only' } }, /bias "lora_only" \(only "none"\) is not supported/],
    ['another PEFT method', { config: { peft_type: 'PREFIX_TUNING' } }, /peft_type "PREFIX_TUNING" \(only LORA adapters can be loaded\)/],
    ['another task', { config: { task_type: 'TOKEN_CLS' } }, /task_type TOKEN_CLS \(only CAUSAL_LM and SEQ_CLS\)/],
    ['modules_to_save', { config: { modules_to_save: ['lm_head'] } }, /modules_to_save \["lm_head"\]/],
    ['a rank pattern', { config: { rank_pattern: { q_proj: 4 } } }, /rank_pattern/],
    ['an unknown module', { config: { target_modules: ['q_proj', 'v_proj', 'fc1'] } }, /target_modules \["fc1"\] are not supported/],
    ['a regex for target_modules', { config: { target_modules: '.*proj' } }, /pattern ".\*proj" is not supported/],
    ['a missing r', { config: { r: undefined } }, /adapter_config\.json: r: /],
    ['a wrong shape', { shapes: { [q0A]: [2, 25] } }, /layers\.0\.self_attn\.q_proj\.lora_A\.weight has shape \[2,25\] but this model's q_proj at rank 2 needs \[2,24\]/],
    ['a rank other than r', { shapes: { [q0A]: [4, 24] } }, /has rank 4 but adapter_config\.json says r = 2/],
    ['a missing tensor', { drop: 'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight' }, /layers\.1\.self_attn\.v_proj\.lora_B\.weight is missing/],
    ['an unlisted target', { extra: { name: peftKey(0, 'o_proj', 'A'), dtype: 'F32', shape: [2, 24], data: new Float32Array(48) } }, /is for o_proj, which target_modules \["v_proj","q_proj"\] does not list/],
    ['a layer the model lacks', { extra: { name: peftKey(2, 'q_proj', 'A'), dtype: 'F32', shape: [2, 24], data: new Float32Array(48) } }, /is for layer 2 but the model has 2 layers/],
    ['a tensor that is not LoRA', { extra: { name: 'base_model.model.lm_head.lora_A.weight', dtype: 'F32', shape: [2, 24], data: new Float32Array(48) } }, /lm_head\.lora_A\.weight is not the lora_A or lora_B weight/],
    ['a module under the wrong block', { extra: { name: 'base_model.model.model.layers.0.mlp.q_proj.lora_A.weight', dtype: 'F32', shape: [2, 24], data: new Float32Array(48) } }, /mlp\.q_proj\.lora_A\.weight is not the lora_A/],
  ])('%s is refused, saying what', (_, options, message) => {
    const { configJson, safetensors } = foreignAdapter(options as Parameters<typeof foreignAdapter>[0]);
    let error: unknown;
    try {
      importPeftAdapter(configJson, safetensors, config);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PeftImportError);
    expect((error as Error).message).toMatch(message);
  });

  test('a stored twice module (with and without .default) is refused', () => {
    const extra: TensorData = { name: q0A.replace('.weight', '.default.weight'), dtype: 'F32', shape: [2, 24], data: new Float32Array(48) };
    const { configJson, safetensors } = foreignAdapter({ extra });
    expect(() => importPeftAdapter(configJson, safetensors, config)).toThrow(/stored twice/);
  });

  test('NaN or infinite values are refused, naming the PEFT key', () => {
    for (const bad of [NaN, -Infinity]) {
      const adapter = trainedAdapter(['q_proj', 'down_proj']);
      adapter.modules.find((m) => m.layer === 1 && m.target === 'down_proj')!.B[5] = bad;
      const files = exportPeftAdapter(adapter);
      expect(() => importPeftAdapter(files.configJson, files.safetensors, config)).toThrow(NonFiniteWeightsError);
      expect(() => importPeftAdapter(files.configJson, files.safetensors, config)).toThrow(
        /^Tensor base_model\.model\.model\.layers\.1\.mlp\.down_proj\.lora_B\.weight of adapter_model\.safetensors holds NaN or infinite values \(the first at element 5\).*Re-download the adapter/,
      );
    }
  });

  test('broken files are refused', () => {
    const { configJson, safetensors } = foreignAdapter();
    expect(() => importPeftAdapter('{"r": ', safetensors, config)).toThrow(/adapter_config\.json is not JSON/);
    expect(() => importPeftAdapter(configJson, safetensors.subarray(0, safetensors.length - 10), config)).toThrow(/truncated download/);
    expect(() => importPeftAdapter(configJson, new Uint8Array(4), config)).toThrow(/not a valid safetensors file/);
  });

  test('an adapter for a different model is refused', () => {
    const files = exportPeftAdapter(trainedAdapter(['q_proj']));
    expect(() => importPeftAdapter(files.configJson, files.safetensors, tinyConfig({ hiddenSize: 32, headDim: 4, numHeads: 8 }))).toThrow(
      /Check that the adapter was trained for this base model/,
    );
  });
});

describe('mergeAdapter', () => {
  function baseWeights(): Map<string, Float32Array> {
    const rng = seeded(3);
    return new Map(expectedTensors(config).map((t) => [t.name, randn(rng, t.shape.reduce((a, b) => a * b, 1))]));
  }

  test('W + (alpha / r) * B @ A for every module, equal to a naive computation; other tensors untouched', () => {
    const weights = baseWeights();
    const adapter = trainedAdapter(['q_proj', 'v_proj', 'o_proj', 'gate_proj', 'down_proj'], 4);
    const merged = mergeAdapter(weights, adapter);
    expect([...merged.keys()]).toEqual([...weights.keys()]);
    const touched = new Set<string>();
    for (const m of adapter.modules) {
      const name = `model.layers.${m.layer}.${m.target === 'gate_proj' || m.target === 'down_proj' ? 'mlp' : 'self_attn'}.${m.target}.weight`;
      touched.add(name);
      const W = weights.get(name)!;
      const got = merged.get(name)!;
      let maxDiff = 0;
      for (let o = 0; o < m.outFeatures; o++) {
        for (let i = 0; i < m.inFeatures; i++) {
          let delta = 0;
          for (let r = 0; r < 4; r++) delta += m.B[o * 4 + r] * m.A[r * m.inFeatures + i];
          const want = W[o * m.inFeatures + i] + (16 / 4) * delta;
          maxDiff = Math.max(maxDiff, Math.abs(got[o * m.inFeatures + i] - want));
        }
      }
      expect(maxDiff, name).toBeLessThan(1e-6);
      expect(got).not.toEqual(W);
    }
    for (const [name, W] of weights) if (!touched.has(name)) expect(merged.get(name)).toBe(W);
    // The base weights are not modified.
    expect(weights).toEqual(baseWeights());
  });

  test('an adapter whose B is zero changes nothing', () => {
    const weights = baseWeights();
    const fresh = initAdapter(config, { rank: 2, alpha: 8, dropout: 0, targets: ['k_proj'] }, 'm', 1);
    const merged = mergeAdapter(weights, fresh);
    expect(merged.get('model.layers.1.self_attn.k_proj.weight')).toEqual(weights.get('model.layers.1.self_attn.k_proj.weight'));
  });

  test('missing or mis-shaped base weights are refused', () => {
    const weights = baseWeights();
    weights.delete('model.layers.0.self_attn.q_proj.weight');
    expect(() => mergeAdapter(weights, trainedAdapter(['q_proj']))).toThrow(/no model\.layers\.0\.self_attn\.q_proj\.weight/);
    const small = baseWeights();
    small.set('model.layers.0.self_attn.q_proj.weight', new Float32Array(10));
    expect(() => mergeAdapter(small, trainedAdapter(['q_proj']))).toThrow(/has 10 values/);
  });

  test('exportMergedSafetensors writes every tensor as F32 with its shape', async () => {
    const merged = mergeAdapter(baseWeights(), trainedAdapter(['q_proj']));
    const shapes = new Map(expectedTensors(config).map((t) => [t.name, t.shape]));
    const st = await openSafetensors(bytesSource('model.safetensors', exportMergedSafetensors(merged, shapes)));
    expect(st.tensors.size).toBe(merged.size);
    for (const [name, data] of merged) {
      const info = st.tensors.get(name)!;
      expect(info.dtype).toBe('F32');
      expect(info.shape).toEqual(shapes.get(name));
      expect(bitsOf(toFloat32('F32', await st.read(name)))).toEqual(bitsOf(data));
    }
    shapes.delete('model.norm.weight');
    expect(() => exportMergedSafetensors(merged, shapes)).toThrow(/no shape for tensor model\.norm\.weight/);
  });
});
