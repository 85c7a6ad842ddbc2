// The reward model end to end on small random models: rewards read at each sequence's own last token (padding
// changes nothing), the training loss tied to the scored rewards, gradients against finite differences, train-rm
// separating a synthetic pair set, the SEQ_CLS export, and the score / reward-grad / rerank contracts.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine';
import { nodeGpu } from '../../src/gpu/node';
import { memoryCache } from '../../src/model/file-cache';
import { bytesSource } from '../../src/model/files';
import { GpuLora, type LoraAdapter } from '../../src/model/lora';
import { dirFiles } from '../../src/model/node-files';
import { openSafetensors, toFloat32 } from '../../src/model/safetensors';
import { initAdapter, initScore } from '../../src/train/init';
import { pairBatch, type PairExample } from '../../src/train/pairs';
import { exportPeftAdapter, importPeftAdapter } from '../../src/train/peft';
import { pairShape, rewardStepper } from '../../src/train/reward';
import { tinyConfig, writeRandomModel } from '../fixtures/random-model';
import { expectLargestEntryGradients } from '../fd';
import { expectAllClose, randInt, seeded } from '../util';
import { cli } from './cli';

const engine = new Engine({ gpu: nodeGpu, hubCache: memoryCache() });
afterAll(() => engine.unloadModel());

const config = tinyConfig({ architecture: 'qwen2', attentionBias: true });

/** A reward model with every tensor non-zero, so every gradient is. */
function randomRewardModel(seed: number): LoraAdapter {
  const adapter = initAdapter(config, { rank: 3, alpha: 6, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'] }, 'test', seed);
  const rng = seeded(seed);
  for (const m of adapter.modules) m.B = Float32Array.from(m.B, () => (rng() - 0.5) * 0.4);
  return { ...adapter, score: initScore(config, seed).map((x) => x * 25) };
}

function tokens(seed: number, length: number): number[] {
  return [1, ...Array.from(randInt(seeded(seed), length - 1, config.vocabSize - 3), (id) => id + 3)];
}

function pair(seed: number, chosenLength: number, rejectedLength: number): PairExample {
  const side = (ids: number[]) => ({ inputIds: ids, labels: ids });
  return { chosen: side(tokens(seed, chosenLength)), rejected: side(tokens(seed + 100, rejectedLength)), margin: 0 };
}

const logSigmoid = (z: number) => -Math.log1p(Math.exp(-z));

describe('reward model', () => {
  test('a padded sequence in a batch scores as it does alone', async () => {
    const model = await writeRandomModel(config, 31);
    await engine.loadFiles(dirFiles(model.dir));
    await engine.setAdapter('reward', randomRewardModel(2));
    const sequences = [tokens(1, 3), tokens(2, 11), tokens(3, 1), tokens(4, 7)];
    const together = await engine.scoreRewards(sequences.map((ids) => ({ ids })));
    const alone = [];
    for (const ids of sequences) alone.push(...(await engine.scoreRewards([{ ids }])));
    expectAllClose(Float32Array.from(together), Float32Array.from(alone), { atol: 1e-5, rtol: 1e-4 });
    expect(new Set(together.map((r) => r.toFixed(4))).size).toBe(4);
  });

  test('the training loss equals -log sigmoid(r_chosen - r_rejected) of the scored rewards, and gradients match finite differences', async () => {
    const model = await writeRandomModel(config, 32);
    await engine.loadFiles(dirFiles(model.dir));
    const adapter = randomRewardModel(5);
    const pairs = [pair(1, 4, 9), pair(2, 7, 2), pair(3, 5, 5)];
    const batch = pairBatch(pairs, 0);
    const lossWith = async (a: LoraAdapter) => {
      const lora = GpuLora.upload(engine.modelOnGpu().ctx, a);
      const stepper = rewardStepper(engine.modelOnGpu(), lora, pairShape([batch], 1));
      const metrics = await stepper.gradients([batch]);
      const grads = await lora.downloadGradients();
      stepper.destroy();
      lora.destroy();
      return { metrics, grads };
    };
    const { metrics, grads } = await lossWith(adapter);

    await engine.setAdapter('reward', adapter);
    const rewards = await engine.scoreRewards(pairs.flatMap((p) => [{ ids: p.chosen.inputIds }, { ids: p.rejected.inputIds }]));
    const gaps = pairs.map((_, p) => rewards[2 * p] - rewards[2 * p + 1]);
    expect(metrics.loss).toBeCloseTo(gaps.reduce((a, z) => a - logSigmoid(z), 0) / pairs.length, 5);
    expect(metrics.accuracy).toBeCloseTo(gaps.filter((z) => z > 0).length / pairs.length, 6);
    expect(metrics.margin).toBeCloseTo(gaps.reduce((a, z) => a + z, 0) / pairs.length, 5);

    // Central differences in the largest entry of a LoRA B, a LoRA A and the score.
    const tensorsOf = (a: LoraAdapter) => [...a.modules.flatMap((m) => [m.A, m.B]), a.score!];
    await expectLargestEntryGradients(adapter, tensorsOf, grads, [1, 4, tensorsOf(adapter).length - 1], async (a) => (await lossWith(a)).metrics.loss);
  });

  test('train-rm separates a synthetic pair set; SEQ_CLS export reads back bit-exactly; score, reward-grad and rerank agree with the engine', async () => {
    const model = await writeRandomModel(config, 33);
    const dir = await mkdtemp(path.join(tmpdir(), 'rm-'));
    // Chosen responses end in token 7, rejected ones in token 9: separable at the last token.
    const rows = Array.from({ length: 48 }, (_, i) => {
      const prompt = tokens(i, 3 + (i % 4));
      return { chosen_ids: [...prompt, 20 + (i % 30), 7], rejected_ids: [...prompt, 20 + ((i + 5) % 30), 9] };
    });
    const data = path.join(dir, 'pairs.jsonl');
    await writeFile(data, rows.map((r) => JSON.stringify(r)).join('\n'));
    const out = path.join(dir, 'rm');
    const stdout = await cli('train-rm', '--model', model.dir, '--data', data, '--out', out, '--rank', '4', '--alpha', '8',
      '--targets', 'q_proj,v_proj,o_proj,down_proj', '--lr', '0.02', '--epochs', '3', '--batch-size', '8', '--val-fraction', '0.25', '--seed', '3');
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(Object.keys(lines[0])).toEqual(expect.arrayContaining(['step', 'loss', 'accuracy', 'margin', 'lr']));
    const last = lines.at(-1);
    expect(last.val_accuracy).toBeGreaterThanOrEqual(0.9);
    expect(last.val_pairs).toBe(12); // a quarter of the 48 pairs held out
    expect(last.loss).toBeLessThan(lines[0].loss);

    const configJson = await readFile(path.join(out, 'adapter_config.json'), 'utf8');
    const safetensors = new Uint8Array(await readFile(path.join(out, 'adapter_model.safetensors')));
    expect(JSON.parse(configJson)).toMatchObject({ task_type: 'SEQ_CLS', modules_to_save: ['score'], r: 4 });
    const imported = importPeftAdapter(configJson, safetensors, config);
    expect(imported.score).toHaveLength(config.hiddenSize);
    const again = exportPeftAdapter(imported, config.architecture);
    expect(Buffer.from(again.safetensors).equals(Buffer.from(safetensors))).toBe(true);
    const stored = await openSafetensors(bytesSource('adapter_model.safetensors', safetensors));
    expect(stored.tensors.get('base_model.model.score.weight')!.shape).toEqual([1, config.hiddenSize]);

    await engine.loadFiles(dirFiles(model.dir));
    await engine.setAdapter('reward', imported);
    const ids = rows[0].chosen_ids;
    const [inApp] = await engine.scoreRewards([{ ids }]);
    const scored = JSON.parse(await cli('score', '--model', model.dir, '--reward', out, '--ids', ids.join(',')));
    expect(scored.rewards[0]).toBeCloseTo(inApp, 5);

    const pairsFile = path.join(dir, 'two.jsonl');
    await writeFile(pairsFile, rows.slice(0, 2).map((r) => JSON.stringify(r)).join('\n'));
    const gradFile = path.join(dir, 'grad.safetensors');
    const graded = JSON.parse(await cli('reward-grad', '--model', model.dir, '--adapter', out, '--data', pairsFile, '--out', gradFile));
    expect(graded.chosen[0]).toBeCloseTo(inApp, 5);
    expect(graded.loss).toBeCloseTo((-logSigmoid(graded.chosen[0] - graded.rejected[0]) - logSigmoid(graded.chosen[1] - graded.rejected[1])) / 2, 5);
    const grads = await openSafetensors(bytesSource('grad.safetensors', new Uint8Array(await readFile(gradFile))));
    const scoreGrad = grads.tensors.get('base_model.model.score.weight.grad')!;
    expect(scoreGrad.shape).toEqual([1, config.hiddenSize]);
    expect(toFloat32(scoreGrad.dtype, await grads.read(scoreGrad.name)).some((g) => g !== 0)).toBe(true);
    expect(grads.tensors.size).toBe(imported.modules.length * 2 + 1);

    const flags = ['--model', model.dir, '--ids', '1,40,41', '--n', '4', '--max-new-tokens', '5', '--temperature', '1', '--seed', '9', '--json'];
    const generated = JSON.parse(await cli('generate', ...flags)).samples;
    const reranked = JSON.parse(await cli('rerank', ...flags, '--reward', out)).samples;
    expect([...reranked].sort((a: { sample: number }, b: { sample: number }) => a.sample - b.sample).map((s: { ids: number[] }) => s.ids)).toEqual(generated.map((s: { ids: number[] }) => s.ids));
    for (let i = 1; i < reranked.length; i++) expect(reranked[i - 1].reward).toBeGreaterThanOrEqual(reranked[i].reward);
    const top = reranked[0];
    const [topReward] = await engine.scoreRewards([{ ids: [1, 40, 41, ...top.ids] }]);
    expect(top.reward).toBeCloseTo(topReward, 5);
  }, 600_000);
});
