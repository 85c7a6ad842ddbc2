// The GPU memory plan: sizes from the config and the run's largest shapes, checked against a device's limits with
// a typed error that carries the numbers and what to lower.
import { describe, expect, test } from 'vitest';
import { GpuMemoryError, MemoryPlan, planLora, planWeights } from '../../src/model/memory';
import { planInference } from '../../src/model/generate';
import { expectedTensors } from '../../src/model/weights';
import type { LoraTarget } from '../../src/model/lora';
import { defaultSftSettings, planSft, sftBatches } from '../../src/train/run';
import type { GradientCheckpointing } from '../../src/train/stepper';
import { tinyConfig } from '../fixtures/random-model';

const GB = 1024 ** 3;
const roomy = { maxBufferSize: 4 * GB, maxStorageBufferBindingSize: 2 * GB, memoryBudget: 8 * GB };

describe('memory plan', () => {
  test('a total over the budget throws GpuMemoryError with both numbers and the advice', () => {
    const plan = new MemoryPlan();
    plan.add('activations', 'a', 1.6 * GB);
    plan.add('kv cache', 'b', 1.5 * GB);
    const check = () => plan.check({ ...roomy, memoryBudget: 2 * GB }, 'this training run', 'lower the batch size, max length or rank');
    expect(check).toThrow(GpuMemoryError);
    expect(check).toThrow('this training run needs 3.10 GiB, this GPU allows 2.00 GiB; lower the batch size, max length or rank.');
    expect(() => plan.check(roomy, 'x', 'y')).not.toThrow();
    expect(plan.byGroup()).toEqual({ activations: Math.ceil((1.6 * GB) / 4) * 4, 'kv cache': 1.5 * GB });
  });

  test('one buffer over the binding limit is named, even when the total fits', () => {
    const plan = new MemoryPlan();
    plan.add('head', 'logits', 300 * 1024 ** 2);
    plan.add('activations', 'x', 10);
    const limits = { ...roomy, maxStorageBufferBindingSize: 128 * 1024 ** 2 };
    expect(() => plan.check(limits, 'generation', 'lower n')).toThrow('generation: its buffer "logits" needs 300.0 MiB, this GPU allows 128.0 MiB; lower n.');
  });

  test('weights plan f32 at 4 bytes a parameter, f16 matrices at 2', () => {
    const config = tinyConfig();
    const tensors = expectedTensors(config);
    const parameters = tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
    const vectors = tensors.filter((t) => t.shape.length === 1).reduce((a, t) => a + t.shape[0], 0);
    const f32 = new MemoryPlan();
    planWeights(f32, tensors, 'f32');
    expect(f32.totalBytes).toBe(parameters * 4);
    const f16 = new MemoryPlan();
    planWeights(f16, tensors, 'f16');
    expect(f16.totalBytes).toBe((parameters - vectors) * 2 + vectors * 4);
  });

  test('a training adapter holds its weights, gradients and two AdamW moments', () => {
    const config = tinyConfig();
    const inference = new MemoryPlan();
    planLora(inference, config, { rank: 4, targets: ['q_proj', 'down_proj'] }, false);
    const training = new MemoryPlan();
    planLora(training, config, { rank: 4, targets: ['q_proj', 'down_proj'] }, true);
    const { hiddenSize: C, intermediateSize: H, numHeads: NH, headDim: HS, numLayers: L } = config;
    expect(inference.totalBytes).toBe(L * 4 * 4 * (C + NH * HS + H + C));
    expect(training.totalBytes).toBe(4 * inference.totalBytes);
  });

  test('an SFT plan is sized by the largest batch of any epoch, and grows with batch size, length and rank', () => {
    const config = tinyConfig({ maxPositionEmbeddings: 512 });
    const rows = (n: number, len: number) => Array.from({ length: n }, () => ({ inputIds: Array(len).fill(5), labels: Array(len).fill(5) }));
    const base = { ...defaultSftSettings, epochs: 2, batchSize: 4 };
    const plan = (examples: ReturnType<typeof rows>, s = base) => planSft(config, examples, s, 0).plan.totalBytes;
    const short = plan(rows(201, 5));
    expect(plan([...rows(200, 5), ...rows(1, 60)])).toBeGreaterThan(short);
    expect(plan(rows(201, 5), { ...base, batchSize: 8 })).toBeGreaterThan(short);
    expect(plan(rows(201, 5), { ...base, rank: 16 })).toBeGreaterThan(short);
    expect(plan(rows(201, 9))).toBeGreaterThan(short);
  });

  test('inference plans the KV cache for rows x slots and logits for the rows that need them', () => {
    const config = tinyConfig();
    const small = planInference(config, { B: 1, P: 8, S: 16, L: 1, R: 0 }).byGroup();
    const wide = planInference(config, { B: 5, P: 8, S: 16, L: 5, R: 0 }).byGroup();
    const kvPerRow = 2 * config.numLayers * 16 * config.numKvHeads * config.headDim * 4;
    expect(small['kv cache']).toBe(kvPerRow * 2); // the rows' cache and the one-prompt prefill cache
    expect(wide['kv cache']).toBe(kvPerRow * 6);
    expect(wide.head! - small.head!).toBe(4 * (config.vocabSize + 1) * 4); // logits and a reward per row
  });
});

describe('gradient checkpointing in the training plan', () => {
  const config = tinyConfig({ maxPositionEmbeddings: 512 });
  const { hiddenSize: C, intermediateSize: H, numHeads: NH, numKvHeads: NKV, headDim: HS, numLayers: L } = config;
  // One batch of 3 rows x 20 tokens: N = 60 token rows.
  const examples = Array.from({ length: 3 }, () => ({ inputIds: Array(20).fill(5), labels: Array(20).fill(5) }));
  const settings = { ...defaultSftSettings, batchSize: 3, rank: 4, targets: ['q_proj', 'v_proj', 'down_proj'] as LoraTarget[] };
  const plan = (gradientCheckpointing: GradientCheckpointing, fits?: (plan: MemoryPlan) => boolean) => planSft(config, examples, { ...settings, gradientCheckpointing }, 0, fits);

  test('keeps only each layer input: the activations shrink by every other layer buffer of all layers but one', () => {
    const N = 60;
    // xn1, q, k, v, att, xMid, xn2, gate, up, mlp and a LoRA intermediate per adapted module, all f32.
    const perLayer = N * 4 * (C + NH * HS + 2 * NKV * HS + NH * HS + 2 * C + 3 * H + 3 * settings.rank);
    const off = plan('off');
    const on = plan('on');
    expect(off.recompute).toBe(false);
    expect(on.recompute).toBe(true);
    expect(off.activationBytes.kept - off.activationBytes.recomputed).toBe((L - 1) * perLayer);
    expect(on.plan.byGroup().activations).toBe(on.activationBytes.recomputed);
    expect(off.plan.byGroup().activations).toBe(off.activationBytes.kept);
    expect(off.plan.totalBytes - on.plan.totalBytes).toBe((L - 1) * perLayer);
    // Everything but the activations is the same either way.
    expect({ ...on.plan.byGroup(), activations: 0 }).toEqual({ ...off.plan.byGroup(), activations: 0 });
  });

  test("'auto' recomputes only when the plan that keeps every activation does not fit", () => {
    const off = plan('off').plan.totalBytes;
    const budget = (bytes: number) => (p: MemoryPlan) => p.fits({ ...roomy, memoryBudget: bytes });
    expect(plan('auto', budget(off)).recompute).toBe(false);
    expect(plan('auto', budget(off - 1)).recompute).toBe(true);
    expect(plan('auto').recompute).toBe(false); // no limits given: taken to fit
    expect(plan('off', budget(off - 1)).recompute).toBe(false); // 'off' is obeyed, and the run's check then refuses it
  });

  test('a plan fits exactly when check() passes', () => {
    const p = new MemoryPlan();
    p.add('activations', 'a', 1000);
    p.add('head', 'b', 3000);
    expect(p.fits({ ...roomy, memoryBudget: 4000 })).toBe(true);
    expect(p.fits({ ...roomy, memoryBudget: 3999 })).toBe(false);
    expect(p.fits({ ...roomy, maxStorageBufferBindingSize: 2999 })).toBe(false);
  });
});

describe('the SFT stepper shape', () => {
  test('covers the largest batch of every epoch a run reaches, for any seed (201 rows, one of 60 tokens, batch 4)', () => {
    const row = (length: number) => ({ inputIds: Array(length).fill(5), labels: Array(length).fill(5) });
    const rows = [...Array.from({ length: 200 }, () => row(5)), row(60)];
    for (let seed = 0; seed < 40; seed++) {
      const settings = { ...defaultSftSettings, epochs: 2, batchSize: 4, seed };
      const { shape, epochBatches, perEpoch, totalSteps } = sftBatches(rows, settings, 0);
      for (let step = 0; step < totalSteps; step++) {
        const batch = epochBatches(Math.floor(step / perEpoch))[step % perEpoch];
        expect(batch.B * batch.T).toBeLessThanOrEqual(shape.N);
        expect(batch.trainedTokens).toBeLessThanOrEqual(shape.M);
      }
    }
  });
});
