// DPO end to end on small random models: the training loss tied to log-probs summed from the inference logits
// (policy = base + adapter, reference = base), log 2 at step 0, gradients against finite differences, a run that
// starts from an SFT adapter, pause and resume with the stored reference, and the train-dpo / dpo-grad contracts.
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
import { dpoBatch, dpoShape, dpoStepper, indexPairs, readReference } from '../../src/train/dpo';
import { initAdapter } from '../../src/train/init';
import type { PairExample } from '../../src/train/pairs';
import { exportPeftAdapter, importPeftAdapter } from '../../src/train/peft';
import { defaultDpoSettings, runDpo, type Checkpoint, type DpoSettings } from '../../src/train/run';
import { tinyConfig, writeRandomModel } from '../fixtures/random-model';
import { expectLargestEntryGradients } from '../fd';
import { randInt, seeded } from '../util';
import { cli } from './cli';

const engine = new Engine({ gpu: nodeGpu, hubCache: memoryCache() });
afterAll(() => engine.unloadModel());

const config = tinyConfig();
const logSigmoid = (z: number) => -Math.log1p(Math.exp(-z));

function tokens(seed: number, length: number): number[] {
  return [1, ...Array.from(randInt(seeded(seed), length - 1, config.vocabSize - 3), (id) => id + 3)];
}

/** A prompt of `promptLength` tokens (masked) and two responses, labelled as Hugging Face aligns them. */
function pair(seed: number, promptLength: number, chosenLength: number, rejectedLength: number): PairExample {
  const prompt = tokens(seed, promptLength);
  const side = (response: number[]) => ({ inputIds: [...prompt, ...response], labels: [...prompt.map(() => -100), ...response] });
  return { chosen: side(tokens(seed + 100, chosenLength).slice(1)), rejected: side(tokens(seed + 200, rejectedLength).slice(1)), margin: 0 };
}

function randomAdapter(seed: number): LoraAdapter {
  const adapter = initAdapter(config, { rank: 3, alpha: 6, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'] }, 'test', seed);
  const rng = seeded(seed);
  for (const m of adapter.modules) m.B = Float32Array.from(m.B, () => (rng() - 0.5) * 0.4);
  return adapter;
}

const withoutB = (a: LoraAdapter): LoraAdapter => ({ ...a, modules: a.modules.map((m) => ({ ...m, B: new Float32Array(m.B.length) })) });

/** The DPO loss, metrics and gradients of one batch on the GPU: reference = base, policy = `adapter`. */
async function dpoGradients(pairs: PairExample[], adapter: LoraAdapter, beta: number) {
  const model = engine.modelOnGpu();
  const batches = [dpoBatch(indexPairs(pairs), 0)];
  const shape = dpoShape(batches, 1);
  const reference = new Float32Array(2 * pairs.length);
  const run = async (a: LoraAdapter, use: (made: ReturnType<typeof dpoStepper>, lora: GpuLora) => Promise<void>) => {
    const lora = GpuLora.upload(model.ctx, a);
    const made = dpoStepper(model, lora, shape, beta, reference);
    await use(made, lora);
    made.stepper.destroy();
    lora.destroy();
  };
  await run(withoutB(adapter), (made) => readReference(made, batches));
  let result = { metrics: { loss: NaN } as Record<string, number>, grads: [] as Float32Array[] };
  await run(adapter, async ({ stepper }, lora) => {
    result = { metrics: await stepper.gradients(batches), grads: await lora.downloadGradients() };
  });
  return { ...result, reference };
}

/** Sum of log p(label) over the labelled tokens, from the inference logits of the slot's adapter (or the base). */
async function sequenceLogp(example: PairExample['chosen'], slot: string | null): Promise<number> {
  const { logits, V } = await engine.logits(example.inputIds, slot);
  let sum = 0;
  for (let t = 0; t + 1 < example.inputIds.length; t++) {
    const label = example.labels[t + 1];
    if (label === -100) continue;
    const row = logits.subarray(t * V, (t + 1) * V);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
    sum += row[label] - lse;
  }
  return sum;
}

describe('DPO', () => {
  test('the loss and metrics equal those of log-probs from the inference logits; gradients match finite differences', async () => {
    const model = await writeRandomModel(config, 41);
    await engine.loadFiles(dirFiles(model.dir));
    const beta = 0.5;
    const adapter = randomAdapter(6);
    const pairs = [pair(1, 4, 5, 3), pair(2, 2, 1, 7), pair(3, 6, 4, 4)];
    const { metrics, grads, reference } = await dpoGradients(pairs, adapter, beta);

    await engine.setAdapter('policy', adapter);
    let loss = 0, chosen = 0, rejected = 0, correct = 0;
    for (const [i, p] of pairs.entries()) {
      const refC = await sequenceLogp(p.chosen, null), refR = await sequenceLogp(p.rejected, null);
      expect(reference[2 * i]).toBeCloseTo(refC, 4);
      expect(reference[2 * i + 1]).toBeCloseTo(refR, 4);
      const c = beta * ((await sequenceLogp(p.chosen, 'policy')) - refC);
      const r = beta * ((await sequenceLogp(p.rejected, 'policy')) - refR);
      loss -= logSigmoid(c - r);
      chosen += c;
      rejected += r;
      correct += c > r ? 1 : 0;
    }
    const P = pairs.length;
    expect(metrics.loss).toBeCloseTo(loss / P, 5);
    expect(metrics.chosenReward).toBeCloseTo(chosen / P, 5);
    expect(metrics.rejectedReward).toBeCloseTo(rejected / P, 5);
    expect(metrics.margin).toBeCloseTo((chosen - rejected) / P, 5);
    expect(metrics.accuracy).toBeCloseTo(correct / P, 6);

    // Central differences in the largest entry of a LoRA A and a LoRA B; the reference stays the base.
    const tensorsOf = (a: LoraAdapter) => a.modules.flatMap((m) => [m.A, m.B]);
    await expectLargestEntryGradients(adapter, tensorsOf, grads, [2, 5], async (a) => (await dpoGradients(pairs, a, beta)).metrics.loss);
  });

  test('at step 0 the loss is log 2, from a fresh adapter (B = 0) and from an SFT adapter it starts from', async () => {
    const model = await writeRandomModel(config, 42);
    await engine.loadFiles(dirFiles(model.dir));
    const pairs = [pair(4, 3, 6, 2), pair(5, 5, 3, 3), pair(6, 2, 2, 5), pair(7, 4, 4, 6)];
    const settings: DpoSettings = { ...defaultDpoSettings, rank: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'o_proj'], steps: 1, batchSize: 4, lr: 1e-3 };
    for (const start of [undefined, randomAdapter(8)]) {
      const losses: number[] = [];
      await runDpo(engine.modelOnGpu(), pairs, settings, { baseModel: 'test', padId: 0, start, onEvent: (e) => losses.push(e.loss!) });
      expect(losses[0]).toBeCloseTo(Math.LN2, 6);
    }
  });

  test('a paused run resumes from its checkpoint with the stored reference and ends as an uninterrupted run', async () => {
    const model = await writeRandomModel(config, 43);
    await engine.loadFiles(dirFiles(model.dir));
    const pairs = Array.from({ length: 12 }, (_, i) => pair(10 + i, 2 + (i % 3), 2 + (i % 4), 2 + (i % 5)));
    const settings: DpoSettings = { ...defaultDpoSettings, rank: 2, alpha: 4, dropout: 0.1, targets: ['q_proj', 'v_proj'], batchSize: 3, epochs: 2, lr: 5e-3, beta: 0.3 };
    const options = { baseModel: 'test', padId: 0, start: randomAdapter(9) };
    const whole = await runDpo(engine.modelOnGpu(), pairs, settings, options);

    let checkpoint: Checkpoint | undefined;
    let steps = 0;
    const paused = await runDpo(engine.modelOnGpu(), pairs, settings, {
      ...options,
      onEvent: () => steps++,
      shouldPause: () => steps === 3,
      onCheckpoint: (c) => {
        checkpoint = c;
      },
    });
    expect(paused.status).toBe('paused');
    expect(checkpoint!.step).toBe(3);
    expect(checkpoint!.reference).toHaveLength(2 * pairs.length);
    const resumed = await runDpo(engine.modelOnGpu(), pairs, settings, { ...options, resume: checkpoint });
    expect(resumed.status).toBe('finished');
    expect(resumed.steps).toBe(whole.steps);
    resumed.adapter.modules.forEach((m, i) => {
      for (let j = 0; j < m.B.length; j++) expect(m.B[j]).toBeCloseTo(whole.adapter.modules[i].B[j], 5);
    });
    await expect(runDpo(engine.modelOnGpu(), pairs, settings, { ...options, resume: { ...checkpoint!, reference: undefined } })).rejects.toThrow(/reference log-probs/);
  });

  test('train-dpo raises the reward accuracy and lowers the loss on a separable pair set; dpo-grad agrees with the engine', async () => {
    const model = await writeRandomModel(config, 44);
    const dir = await mkdtemp(path.join(tmpdir(), 'dpo-'));
    // Chosen responses end in token 7, rejected ones in token 9; the prompt is not trained.
    const rows = Array.from({ length: 48 }, (_, i) => {
      const prompt = tokens(i, 3 + (i % 4));
      const side = (response: number[]) => ({ input_ids: [...prompt, ...response], labels: [...prompt.map(() => -100), ...response] });
      return { chosen: side([20 + (i % 30), 7]), rejected: side([20 + (i % 30), 9]) };
    });
    const data = path.join(dir, 'pairs.jsonl');
    await writeFile(data, rows.map((r) => JSON.stringify(r)).join('\n'));
    const out = path.join(dir, 'dpo');
    const stdout = await cli('train-dpo', '--model', model.dir, '--data', data, '--out', out, '--rank', '4', '--alpha', '8',
      '--targets', 'q_proj,v_proj,o_proj,down_proj', '--lr', '0.02', '--epochs', '3', '--batch-size', '8', '--val-fraction', '0.25', '--seed', '3', '--beta', '0.1');
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(Object.keys(lines[0])).toEqual(expect.arrayContaining(['step', 'loss', 'rewards/accuracies', 'rewards/chosen', 'rewards/rejected', 'rewards/margins', 'lr']));
    expect(lines[0].loss).toBeCloseTo(Math.LN2, 5);
    const last = lines.at(-1);
    expect(last.loss).toBeLessThan(lines[0].loss - 0.15);
    expect(last['rewards/accuracies']).toBeGreaterThanOrEqual(0.9);
    expect(last['eval_rewards/accuracies']).toBeGreaterThanOrEqual(0.9);
    expect(last['rewards/margins']).toBeGreaterThan(0);
    expect(JSON.parse(await readFile(path.join(out, 'adapter_config.json'), 'utf8'))).toMatchObject({ task_type: 'CAUSAL_LM', r: 4 });

    const two = path.join(dir, 'two.jsonl');
    await writeFile(two, rows.slice(0, 2).map((r) => JSON.stringify(r)).join('\n'));
    const gradFile = path.join(dir, 'grad.safetensors');
    const graded = JSON.parse(await cli('dpo-grad', '--model', model.dir, '--adapter', out, '--data', two, '--beta', '0.1', '--out', gradFile));
    expect(Object.keys(graded).sort()).toEqual(['accuracy', 'loss']);

    await engine.loadFiles(dirFiles(model.dir));
    const trained = importPeftAdapter(await readFile(path.join(out, 'adapter_config.json'), 'utf8'), new Uint8Array(await readFile(path.join(out, 'adapter_model.safetensors'))), config);
    await engine.setAdapter('policy', trained);
    let loss = 0;
    for (const row of rows.slice(0, 2)) {
      const side = (s: { input_ids: number[]; labels: number[] }) => ({ inputIds: s.input_ids, labels: s.labels });
      const z = 0.1 * ((await sequenceLogp(side(row.chosen), 'policy')) - (await sequenceLogp(side(row.chosen), null)) - (await sequenceLogp(side(row.rejected), 'policy')) + (await sequenceLogp(side(row.rejected), null)));
      loss -= logSigmoid(z);
    }
    expect(graded.loss).toBeCloseTo(loss / 2, 4);
    const grads = await openSafetensors(bytesSource('grad.safetensors', new Uint8Array(await readFile(gradFile))));
    expect(grads.tensors.size).toBe(trained.modules.length * 2);
    const key = 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight.grad';
    expect(toFloat32(grads.tensors.get(key)!.dtype, await grads.read(key)).some((g) => g !== 0)).toBe(true);
    // The exported adapter is an ordinary causal-LM adapter: it re-exports to the same bytes.
    expect(Buffer.from(exportPeftAdapter(trained, config.architecture).safetensors).equals(Buffer.from(await readFile(path.join(out, 'adapter_model.safetensors'))))).toBe(true);
  }, 600_000);
});
