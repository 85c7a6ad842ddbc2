// The engine core: one layer walk serving training and inference, the memory plan that refuses a run before it
// allocates, adapter slots over one base, buffers reused between calls, and a run that survives a lost GPU.
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, describe, expect, test, vi } from 'vitest';
import { Engine } from '../../src/engine/engine';
import { GpuContext } from '../../src/gpu/context';
import { nodeGpu } from '../../src/gpu/node';
import { memoryCache } from '../../src/model/file-cache';
import { GpuMemoryError } from '../../src/model/memory';
import { dirFiles } from '../../src/model/node-files';
import { forwardLogits } from '../../src/ref/forward';
import type { TrainExample } from '../../src/train/data';
import { initAdapter } from '../../src/train/init';
import { mergeAdapter } from '../../src/train/peft';
import { defaultSftSettings, type Checkpoint, type SftSettings } from '../../src/train/run';
import { tinyConfig, writeRandomModel } from '../fixtures/random-model';
import { expectAllClose, seeded } from '../util';

const stories = 'test/fixtures/stories260K';
const engine = new Engine({ gpu: nodeGpu, hubCache: memoryCache() });
afterAll(() => engine.unloadModel());
afterEach(() => vi.restoreAllMocks());

const settings = (overrides: Partial<SftSettings>): SftSettings => ({ ...defaultSftSettings, dropout: 0, warmupRatio: 0, logEvery: 1, ...overrides });

/** Story rows of stories260K's greedy continuation, the first `prompt` tokens masked. */
async function storyRows(count: number, length: number, prompt = 2): Promise<TrainExample[]> {
  const story: number[] = JSON.parse(await readFile(`${stories}/goldens.json`, 'utf8')).greedy_from_bos_39;
  return Array.from({ length: count }, (_, i) => {
    const ids = [1, ...story.slice(1 + (i % 20), length + (i % 20))];
    return { inputIds: ids, labels: ids.map((id, t) => (t < prompt ? -100 : id)) };
  });
}

/** Mean over labelled tokens of -log softmax(logits[t])[labels[t + 1]], from T x V logits. */
function crossEntropy(logits: Float32Array, V: number, labels: number[]): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (let t = 0; t + 1 < labels.length; t++) {
    if (labels[t + 1] === -100) continue;
    const row = logits.subarray(t * V, (t + 1) * V);
    const max = row.reduce((a, b) => Math.max(a, b), -Infinity);
    const lse = max + Math.log(row.reduce((a, b) => a + Math.exp(b - max), 0));
    sum += lse - row[labels[t + 1]];
    count++;
  }
  return { sum, count };
}

describe('engine core', () => {
  test('the training loss at step 1 equals the cross-entropy of sequenceLogits on the same rows', async () => {
    await engine.loadFiles(dirFiles(stories));
    const rows = await storyRows(5, 9, 3);
    let stepOne: number | undefined;
    await engine.trainSft({ data: { examples: rows }, settings: settings({ steps: 1, batchSize: 5 }), maxLen: 64, trainOnInputs: false }, (e) => {
      if (e.step === 1) stepOne = e.loss;
    });
    let sum = 0;
    let count = 0;
    for (const row of rows) {
      const part = crossEntropy((await engine.logits(row.inputIds)).logits, 512, row.labels);
      sum += part.sum;
      count += part.count;
    }
    expect(stepOne).toBeDefined();
    expect(Math.abs(stepOne! - sum / count)).toBeLessThan(1e-5);
  });

  test('201 rows (200 of 5 tokens, one of 60) at batch 4 and seed 10 train to the last step of epoch 2', async () => {
    // In epoch 1 the long row is the odd one out, alone in the last batch (1 x 60); in epoch 2 it shares a batch (4 x 60).
    const model = await writeRandomModel(tinyConfig(), 21);
    await engine.loadFiles(dirFiles(model.dir));
    const row = (length: number, i: number) => {
      const ids = Array.from({ length }, (_, t) => (t === 0 ? 1 : 3 + ((i * 7 + t * 13) % 90)));
      return { inputIds: ids, labels: ids };
    };
    const rows = [...Array.from({ length: 200 }, (_, i) => row(5, i)), row(60, 200)];
    let last = 0;
    const result = await engine.trainSft({ data: { examples: rows }, settings: settings({ epochs: 2, batchSize: 4, seed: 10, logEvery: 50 }), maxLen: 64, trainOnInputs: false }, (e) => {
      last = e.step;
    });
    expect(result.status).toBe('finished');
    expect(result.steps).toBe(2 * Math.ceil(201 / 4));
    expect(last).toBe(result.steps);
  }, 300_000);

  test('a run too big for the memory budget fails before allocating, with the numbers', async () => {
    const small = new Engine({ gpu: nodeGpu, hubCache: memoryCache(), memoryBudget: 2_000_000 });
    await small.loadFiles(dirFiles(stories));
    const made = vi.spyOn(GpuContext.prototype, 'buffer');
    const rows = await storyRows(8, 200);
    const run = small.trainSft({ data: { examples: rows }, settings: settings({ steps: 1, batchSize: 8 }), maxLen: 256, trainOnInputs: false });
    await expect(run).rejects.toThrow(GpuMemoryError);
    await expect(run).rejects.toThrow(/this training run needs [\d.]+ MiB, this GPU allows 1\.91 MiB; lower the batch size, max length or rank/);
    const generation = small.generate({ prompts: [{ ids: [1] }], n: 16, maxNewTokens: 250, sampling: { temperature: 0, topK: 0, topP: 1, seed: 0 } });
    await expect(generation).rejects.toThrow(/generation needs [\d.]+ MiB, this GPU allows 1\.91 MiB; lower n, the prompt length or max new tokens/);
    expect(made).not.toHaveBeenCalled();
    // A request that fits still runs.
    const fits = await small.generate({ prompts: [{ ids: [1] }], n: 1, maxNewTokens: 4, sampling: { temperature: 0, topK: 0, topP: 1, seed: 0 } });
    expect(fits.samples[0].ids).toHaveLength(4);
    await small.unloadModel();
  });

  test('generation reuses its planned buffers when a call fits them', async () => {
    await engine.loadFiles(dirFiles(stories));
    const request = { prompts: [{ ids: [1, 403, 407] }], n: 3, maxNewTokens: 6, sampling: { temperature: 0.8, topK: 0, topP: 1, seed: 4 } };
    const first = await engine.generate(request);
    const made = vi.spyOn(GpuContext.prototype, 'buffer');
    const again = await engine.generate({ ...request, n: 2 });
    await engine.logits([1, 403]);
    expect(made).not.toHaveBeenCalled();
    expect(again.samples.map((s) => s.ids)).toEqual(first.samples.slice(0, 2).map((s) => s.ids));
  });

  test('adapter slots: each request uses the slot it names over the one base', async () => {
    const config = tinyConfig({ architecture: 'qwen2', attentionBias: true });
    const model = await writeRandomModel(config, 12);
    await engine.loadFiles(dirFiles(model.dir));
    const adapter = (seed: number, targets: SftSettings['targets']) => {
      const a = initAdapter(config, { rank: 2 + seed, alpha: 4, dropout: 0, targets }, 'test', seed);
      const rng = seeded(seed);
      for (const m of a.modules) m.B = Float32Array.from(m.B, () => (rng() - 0.5) * 0.5);
      return a;
    };
    const policy = adapter(1, ['q_proj', 'v_proj']);
    const reward = adapter(2, ['o_proj', 'down_proj', 'gate_proj']);
    await engine.setAdapter('policy', policy);
    await engine.setAdapter('reward', reward);
    expect((await engine.adapterSlots()).map((s) => [s.slot, s.rank])).toEqual([['policy', 3], ['reward', 4]]);
    const ids = [1, 50, 60, 70, 80, 5];
    expectAllClose((await engine.logits(ids, 'policy')).logits, forwardLogits(config, mergeAdapter(model.weights, policy), ids), { atol: 1e-4, rtol: 1e-3 });
    expectAllClose((await engine.logits(ids, 'reward')).logits, forwardLogits(config, mergeAdapter(model.weights, reward), ids), { atol: 1e-4, rtol: 1e-3 });
    expectAllClose((await engine.logits(ids, null)).logits, forwardLogits(config, model.weights, ids), { atol: 1e-4, rtol: 1e-3 });
    await engine.clearAdapter('reward');
    await expect(engine.logits(ids, 'reward')).rejects.toThrow(/No adapter is in the "reward" slot/);
  });

  test('an adapter with NaN is refused by name; one whose logits overflow stops generation with a clear message', async () => {
    const config = tinyConfig();
    const model = await writeRandomModel(config, 13);
    await engine.loadFiles(dirFiles(model.dir));
    const adapter = initAdapter(config, { rank: 2, alpha: 4, dropout: 0, targets: ['down_proj'] }, 'test', 3);
    const broken = { ...adapter, modules: adapter.modules.map((m, i) => (i === 1 ? { ...m, B: Float32Array.from(m.B, (_, j) => (j === 5 ? NaN : 0)) } : m)) };
    await expect(engine.setAdapter('policy', broken)).rejects.toThrow(/base_model\.model\.model\.layers\.1\.mlp\.down_proj\.lora_B\.weight of the adapter holds NaN or infinite values \(the first at element 5\)/);
    const huge = { ...adapter, modules: adapter.modules.map((m) => ({ ...m, B: m.B.map(() => 3e38) })) };
    await engine.setAdapter('policy', huge);
    const request = { prompts: [{ ids: [1, 5, 9] }], n: 2, maxNewTokens: 4, sampling: { temperature: 0.7, topK: 0, topP: 1, seed: 1 }, adapter: 'policy' };
    await expect(engine.generate(request)).rejects.toThrow(/The model produced NaN or infinite logits at generation step \d+: its weights or the applied adapter are broken/);
  });

  test('a GPU lost mid-run gives GpuLostError; recovered on a new device, the run resumes and ends as an uninterrupted run does', async () => {
    await engine.loadFiles(dirFiles(stories));
    const rows = (await storyRows(12, 8, 2)).map((r, i) => ({ ...r, inputIds: r.inputIds.map((id, t) => (t > 0 ? 3 + ((id + i) % 500) : id)) }));
    const request = { data: { examples: rows }, settings: settings({ steps: 8, batchSize: 4, checkpointEvery: 3, lr: 0.01 }), maxLen: 64, trainOnInputs: false };
    const uninterrupted = await engine.trainSft(request);

    let saved: Checkpoint | null = null;
    const lost = engine.trainSft(request, (e) => {
      if (e.step === 5) void engine.modelOnGpu().ctx.device.destroy();
    }, (c) => (saved = c));
    await expect(lost).rejects.toThrow(/GPU device was lost .* during training; resuming from checkpoint step 3/);
    await expect(engine.logits([1])).rejects.toThrow(/GPU device was lost/);
    await engine.recover();
    expect(saved!.step).toBe(3);
    const resumed = await engine.trainSft({ ...request, resume: saved! });
    expect(resumed.steps).toBe(8);
    resumed.adapter.modules.forEach((m, i) => {
      expectAllClose(m.A, uninterrupted.adapter.modules[i].A, { atol: 1e-5, rtol: 1e-4 });
      expectAllClose(m.B, uninterrupted.adapter.modules[i].B, { atol: 1e-5, rtol: 1e-4 });
    });
  });
});
