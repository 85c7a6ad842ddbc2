// LoRA training on the GPU: gradients against finite differences of the GPU loss, the CLI contract
// (train-sft, grad, logits --adapter), and overfitting 16 examples on stories260K.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Engine } from '../../src/engine/engine';
import { nodeGpu } from '../../src/gpu/node';
import { memoryCache } from '../../src/model/file-cache';
import { dirFiles } from '../../src/model/node-files';
import { bytesSource } from '../../src/model/files';
import { openSafetensors, toFloat32 } from '../../src/model/safetensors';
import { makeBatches, type TrainExample } from '../../src/train/data';
import { initAdapter } from '../../src/train/init';
import { GpuLora, type LoraAdapter } from '../../src/model/lora';
import { exportPeftAdapter, exportMergedSafetensors, mergeAdapter } from '../../src/train/peft';
import { sftShape, sftStepper } from '../../src/train/sft';
import { expectedTensors } from '../../src/model/weights';
import { tinyConfig, writeRandomModel } from '../fixtures/random-model';
import { expectAllClose, randInt, seeded } from '../util';
import { cli } from './cli';

const engine = new Engine({ gpu: nodeGpu, hubCache: memoryCache() });
afterAll(() => engine.unloadModel());

/** Rows of random ids whose first half is a masked "prompt". */
function randomExamples(count: number, V: number, seed: number): TrainExample[] {
  const rng = seeded(seed);
  return Array.from({ length: count }, (_, i) => {
    const ids = [1, ...randInt(rng, 5 + (i % 4), V - 3)].map((id, t) => (t === 0 ? id : id + 3));
    return { inputIds: ids, labels: ids.map((id, t) => (t < ids.length / 2 ? -100 : id)) };
  });
}

/** An adapter whose B is non-zero, so every gradient is. */
function randomAdapter(config: ReturnType<typeof tinyConfig>): LoraAdapter {
  const adapter = initAdapter(config, { rank: 3, alpha: 6, dropout: 0, targets: ['q_proj', 'v_proj', 'o_proj', 'down_proj'] }, 'test', 7);
  const rng = seeded(9);
  for (const m of adapter.modules) m.B = Float32Array.from(m.B, () => (rng() - 0.5) * 0.4);
  return adapter;
}

describe('LoRA training on the GPU', () => {
  test('LoRA gradients match finite differences of the loss', async () => {
    const config = tinyConfig({ architecture: 'qwen2', attentionBias: true });
    const model = await writeRandomModel(config, 4);
    await engine.loadFiles(dirFiles(model.dir));
    const adapter = randomAdapter(config);
    const [batch] = makeBatches(randomExamples(3, config.vocabSize, 1), 3, 0, 0);
    const lossWith = async (a: LoraAdapter) => {
      const lora = GpuLora.upload(engine.modelOnGpu().ctx, a);
      const stepper = sftStepper(engine.modelOnGpu(), lora, sftShape([batch], 1));
      const { loss } = await stepper.gradients([batch]);
      const grads = await lora.downloadGradients();
      stepper.destroy();
      lora.destroy();
      return { loss, grads };
    };
    const { grads } = await lossWith(adapter);
    const eps = 1e-2;
    let checked = 0;
    for (const [i, m] of adapter.modules.entries()) {
      for (const [which, values, grad] of [['A', m.A, grads[2 * i]], ['B', m.B, grads[2 * i + 1]]] as const) {
        // The largest gradient entry of each tensor, where f32 noise matters least.
        let k = 0;
        for (let j = 1; j < grad.length; j++) if (Math.abs(grad[j]) > Math.abs(grad[k])) k = j;
        const perturbed = (delta: number) => ({ ...adapter, modules: adapter.modules.map((mm, ii) => (ii !== i ? mm : { ...mm, [which]: Float32Array.from(values, (v, j) => (j === k ? v + delta : v)) })) });
        const numeric = ((await lossWith(perturbed(eps))).loss - (await lossWith(perturbed(-eps))).loss) / (2 * eps);
        expect(Math.abs(numeric - grad[k]), `${m.layer}.${m.target}.${which}[${k}]: ${grad[k]} vs ${numeric}`).toBeLessThan(0.02 * Math.abs(numeric) + 2e-3);
        checked++;
      }
    }
    expect(checked).toBe(adapter.modules.length * 2);
  });

  test('gradient accumulation over two micro-batches equals one batch of the same rows', async () => {
    const config = tinyConfig();
    const model = await writeRandomModel(config, 8);
    await engine.loadFiles(dirFiles(model.dir));
    const adapter = randomAdapter(config);
    const examples = randomExamples(4, config.vocabSize, 3);
    const run = async (batches: ReturnType<typeof makeBatches>) => {
      const lora = GpuLora.upload(engine.modelOnGpu().ctx, adapter);
      const stepper = sftStepper(engine.modelOnGpu(), lora, sftShape(batches, batches.length));
      const { loss } = await stepper.gradients(batches);
      const grads = await lora.downloadGradients();
      stepper.destroy();
      lora.destroy();
      return { loss, grads };
    };
    const whole = await run(makeBatches(examples, 4, 0, 0));
    const halves = await run([...makeBatches(examples.slice(0, 2), 2, 0, 0), ...makeBatches(examples.slice(2), 2, 0, 0)]);
    expect(halves.loss).toBeCloseTo(whole.loss, 5);
    whole.grads.forEach((g, i) => expectAllClose(halves.grads[i], g, { atol: 1e-6, rtol: 1e-3 }));
  });

  test('logits with an adapter equal the logits of the merged weights; grad writes PEFT keys + .grad', async () => {
    const config = tinyConfig();
    const model = await writeRandomModel(config, 6);
    const adapter = randomAdapter(config);
    const dir = await mkdtemp(path.join(tmpdir(), 'adapter-'));
    const files = exportPeftAdapter(adapter);
    await writeFile(path.join(dir, 'adapter_config.json'), files.configJson);
    await writeFile(path.join(dir, 'adapter_model.safetensors'), files.safetensors);

    const merged = mergeAdapter(model.weights, adapter);
    const mergedDir = await mkdtemp(path.join(tmpdir(), 'merged-'));
    await writeFile(path.join(mergedDir, 'config.json'), await readFile(path.join(model.dir, 'config.json')));
    const shapes = new Map(expectedTensors(config).map((t) => [t.name, t.shape]));
    const mergedBytes = exportMergedSafetensors(merged, shapes);
    await writeFile(path.join(mergedDir, 'model.safetensors'), mergedBytes);
    // The engine's own merged export (what the Train page downloads) is the same file.
    await engine.loadFiles(dirFiles(model.dir));
    await engine.setAdapter('policy', adapter);
    expect(Buffer.from(await engine.exportMergedWeights()).equals(Buffer.from(mergedBytes))).toBe(true);

    const ids = '1,5,9,14,2,77,31';
    const out = await mkdtemp(path.join(tmpdir(), 'logits-'));
    await cli('logits', '--model', model.dir, '--adapter', dir, '--ids', ids, '--out', path.join(out, 'a.f32'));
    await cli('logits', '--model', mergedDir, '--ids', ids, '--out', path.join(out, 'b.f32'));
    await cli('logits', '--model', model.dir, '--ids', ids, '--out', path.join(out, 'base.f32'));
    const read = async (f: string) => new Float32Array((await readFile(path.join(out, f))).buffer.slice(0));
    const [withAdapter, withMerged, base] = [await read('a.f32'), await read('b.f32'), await read('base.f32')];
    const maxDiff = (x: Float32Array, y: Float32Array) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
    expect(maxDiff(withAdapter, withMerged)).toBeLessThan(1e-4);
    expect(maxDiff(withAdapter, base)).toBeGreaterThan(1e-3); // the adapter really changes the output

    const data = path.join(out, 'rows.jsonl');
    await writeFile(data, randomExamples(4, config.vocabSize, 2).map((e) => JSON.stringify({ input_ids: e.inputIds, labels: e.labels })).join('\n'));
    const gradFile = path.join(out, 'grad.safetensors');
    const { loss } = JSON.parse(await cli('grad', '--model', model.dir, '--adapter', dir, '--data', data, '--out', gradFile));
    expect(loss).toBeGreaterThan(0);
    const bytes = new Uint8Array(await readFile(gradFile));
    const grads = await openSafetensors(bytesSource('grad.safetensors', bytes));
    const qA = grads.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight.grad')!;
    expect(qA.shape).toEqual([3, config.hiddenSize]);
    expect(grads.tensors.size).toBe(adapter.modules.length * 2);
    expect(toFloat32(qA.dtype, await grads.read(qA.name)).some((g) => g !== 0)).toBe(true);
  });

  test('train-sft overfits 16 pre-tokenized stories260K rows and writes a PEFT adapter', async () => {
    const goldens = JSON.parse(await readFile('test/fixtures/stories260K/goldens.json', 'utf8'));
    const story: number[] = goldens.greedy_from_bos_39;
    const rows = Array.from({ length: 16 }, (_, i) => {
      const ids = [1, ...story.slice(1 + i, 9 + i)];
      return { input_ids: ids, labels: ids.map((id, t) => (t < 3 ? -100 : id)) };
    });
    const dir = await mkdtemp(path.join(tmpdir(), 'sft-'));
    const data = path.join(dir, 'rows.jsonl');
    await writeFile(data, rows.map((r) => JSON.stringify(r)).join('\n'));
    const outDir = path.join(dir, 'adapter');
    const stdout = await cli('train-sft', '--model', 'test/fixtures/stories260K', '--data', data, '--out', outDir,
      '--rank', '16', '--alpha', '32', '--dropout', '0', '--targets', 'q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj',
      '--lr', '0.01', '--steps', '12', '--batch-size', '16', '--warmup-ratio', '0.05');
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(12);
    expect(Object.keys(lines[0]).sort()).toEqual(['loss', 'lr', 'step', 'tokens_per_s']);
    const first = lines[0].loss, last = lines[11].loss;
    expect(last).toBeLessThan(first / 10);
    expect(last).toBeLessThan(0.1);
    const config = JSON.parse(await readFile(path.join(outDir, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 16, lora_alpha: 32, bias: 'none' });
  }, 600_000);
});
