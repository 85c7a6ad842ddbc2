// Gradient checkpointing: a stepper that keeps only each layer's input and recomputes the rest in backward gives
// the gradients (and, with dropout, the update) of one that keeps every activation, still in one submit per step;
// the engine turns it on by itself when a run would not fit its memory budget otherwise.
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine';
import { nodeGpu } from '../../src/gpu/node';
import { memoryCache } from '../../src/model/file-cache';
import { GpuLora, type LoraAdapter, type LoraTarget } from '../../src/model/lora';
import { GpuMemoryError } from '../../src/model/memory';
import { dirFiles } from '../../src/model/node-files';
import { makeBatches, type Batch, type TrainExample } from '../../src/train/data';
import { initAdapter } from '../../src/train/init';
import { defaultSftSettings, type SftSettings } from '../../src/train/run';
import { sftShape, sftStepper } from '../../src/train/sft';
import { tinyConfig, writeRandomModel } from '../fixtures/random-model';
import { expectAllClose, randInt, seeded } from '../util';

const stories = 'test/fixtures/stories260K';
const engine = new Engine({ gpu: nodeGpu, hubCache: memoryCache() });
afterAll(() => engine.unloadModel());

/** Rows of random ids of different lengths, the first third of each masked. */
function randomExamples(count: number, V: number, seed: number): TrainExample[] {
  const rng = seeded(seed);
  return Array.from({ length: count }, (_, i) => {
    const ids = [1, ...Array.from(randInt(rng, 6 + (i % 5), V - 3), (id) => id + 3)];
    return { inputIds: ids, labels: ids.map((id, t) => (t < ids.length / 3 ? -100 : id)) };
  });
}

/** An adapter on `targets` whose B is non-zero, so every gradient is. */
function randomAdapter(config: Parameters<typeof initAdapter>[0], targets: LoraTarget[], dropout: number): LoraAdapter {
  const adapter = initAdapter(config, { rank: 4, alpha: 8, dropout, targets }, 'test', 3);
  const rng = seeded(11);
  for (const m of adapter.modules) m.B = Float32Array.from(m.B, () => (rng() - 0.5) * 0.4);
  return adapter;
}

/** On the loaded model: the loss and LoRA gradients of two micro-batches, and the adapter after one AdamW step with dropout. */
async function trainBothWays(adapter: LoraAdapter, batches: Batch[], recompute: boolean) {
  const model = engine.modelOnGpu();
  const shape = { ...sftShape(batches, batches.length), recompute };
  const lora = GpuLora.upload(model.ctx, adapter);
  const stepper = sftStepper(model, lora, shape);
  try {
    const { loss } = await stepper.gradients(batches);
    const grads = await lora.downloadGradients();
    const before = { ...model.ctx.stats };
    const opt = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1 };
    await stepper.step(batches, 1e-2, 1, opt, 77, false);
    const submits = model.ctx.stats.submits - before.submits;
    const dispatches = model.ctx.stats.dispatches - before.dispatches;
    return { loss, grads, updated: await lora.download(), submits, dispatches };
  } finally {
    stepper.destroy();
    lora.destroy();
  }
}

async function expectSameTraining(adapter: LoraAdapter, batches: Batch[]) {
  const kept = await trainBothWays(adapter, batches, false);
  const recomputed = await trainBothWays(adapter, batches, true);
  expect(recomputed.loss).toBeCloseTo(kept.loss, 6);
  kept.grads.forEach((g, i) => expectAllClose(recomputed.grads[i], g, { atol: 1e-6, rtol: 1e-5 }));
  kept.updated.modules.forEach((m, i) => {
    expectAllClose(recomputed.updated.modules[i].A, m.A, { atol: 1e-6, rtol: 1e-5 });
    expectAllClose(recomputed.updated.modules[i].B, m.B, { atol: 1e-6, rtol: 1e-5 });
  });
  expect(kept.submits).toBe(1);
  expect(recomputed.submits).toBe(1);
  // The recomputed layers are extra work recorded into that one submit.
  expect(recomputed.dispatches).toBeGreaterThan(kept.dispatches);
}

describe('gradient checkpointing', () => {
  test('stories260K (GQA 8/4, q/k/v/o): recomputed gradients and step equal the kept ones', async () => {
    await engine.loadFiles(dirFiles(stories));
    const config = engine.modelOnGpu().config;
    const story: number[] = JSON.parse(await readFile(`${stories}/goldens.json`, 'utf8')).greedy_from_bos_39;
    const rows = Array.from({ length: 6 }, (_, i): TrainExample => {
      const ids = [1, ...story.slice(1 + i, 12 + 2 * i)];
      return { inputIds: ids, labels: ids.map((id, t) => (t < 3 ? -100 : id)) };
    });
    const batches = [...makeBatches(rows.slice(0, 3), 3, 0, 0), ...makeBatches(rows.slice(3), 3, 0, 0)];
    await expectSameTraining(randomAdapter(config, ['q_proj', 'k_proj', 'v_proj', 'o_proj'], 0.1), batches);
  });

  test('a random GQA model (6/2 heads, q/k/v biases, every module adapted): recomputed gradients and step equal the kept ones', async () => {
    const config = tinyConfig({ architecture: 'qwen2', attentionBias: true, numLayers: 3 });
    const model = await writeRandomModel(config, 5);
    await engine.loadFiles(dirFiles(model.dir));
    const examples = randomExamples(5, config.vocabSize, 2);
    const batches = [...makeBatches(examples.slice(0, 2), 2, 0, 0), ...makeBatches(examples.slice(2), 3, 0, 0)];
    const all: LoraTarget[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
    await expectSameTraining(randomAdapter(config, all, 0.1), batches);
  });

  test("'auto' recomputes when keeping every activation would exceed the budget, and such a run trains", async () => {
    const rows = randomExamples(8, 512, 4).map((e) => ({ inputIds: [...e.inputIds, ...e.inputIds, ...e.inputIds], labels: [...e.labels, ...e.labels, ...e.labels] }));
    const request = (gradientCheckpointing: SftSettings['gradientCheckpointing']) => ({
      data: { examples: rows },
      settings: { ...defaultSftSettings, steps: 2, batchSize: 8, warmupRatio: 0, gradientCheckpointing },
      maxLen: 64,
      trainOnInputs: false,
    });
    await engine.loadFiles(dirFiles(stories));
    const off = await engine.planTraining(request('off'));
    const on = await engine.planTraining(request('on'));
    expect(off.gradientCheckpointing).toEqual({ on: false, activationBytesWith: on.byGroup.activations, activationBytesWithout: off.byGroup.activations });
    expect(on.gradientCheckpointing.on).toBe(true);
    expect(off.totalBytes - on.totalBytes).toBe(off.gradientCheckpointing.activationBytesWithout - off.gradientCheckpointing.activationBytesWith);

    // A budget between the two plans: 'auto' picks recomputation, 'off' is refused before anything is allocated.
    const tight = new Engine({ gpu: nodeGpu, hubCache: memoryCache(), memoryBudget: Math.floor((off.totalBytes + on.totalBytes) / 2) });
    try {
      await tight.loadFiles(dirFiles(stories));
      const auto = await tight.planTraining(request('auto'));
      expect(auto.gradientCheckpointing.on).toBe(true);
      expect(auto.totalBytes).toBe(on.totalBytes);
      await expect(tight.trainSft(request('off'))).rejects.toThrow(GpuMemoryError);
      await expect(tight.trainSft(request('off'))).rejects.toThrow(/or turn gradient checkpointing on\.$/);
      const losses: number[] = [];
      const result = await tight.trainSft(request('auto'), (e) => losses.push(e.loss!));
      expect(result.status).toBe('finished');
      expect(losses).toHaveLength(2);
      expect(losses.every(Number.isFinite)).toBe(true);
    } finally {
      await tight.unloadModel();
    }
  }, 300_000);
});
