// The kernels a model runs with on this GPU: known-answer checks of every variant, the fallback when one fails,
// the tuned choice cached per adapter and model shape, pinned variants, and parity under each of them.
import { describe, expect, test } from 'vitest';
import goldens from '../fixtures/stories260K/goldens.json';
import { Engine } from '../../src/engine/engine';
import { memoryKernelCache } from '../../src/engine/kernel-setup';
import { nodeGpu } from '../../src/gpu/node';
import { matmulChoices, variantsOf } from '../../src/kernels/matmul-variants';
import { memoryCache } from '../../src/model/file-cache';
import { dirFiles } from '../../src/model/node-files';
import { makeBatches } from '../../src/train/data';
import { initAdapter } from '../../src/train/init';
import { GpuLora } from '../../src/model/lora';
import { sftShape, sftStepper } from '../../src/train/sft';
import { tinyConfig, writeRandomModel } from '../fixtures/random-model';
import { expectAllClose, randInt, seeded } from '../util';
import { cliOutput } from './cli';

const stories = 'test/fixtures/stories260K';
const engineWith = (options: Partial<ConstructorParameters<typeof Engine>[0]> = {}) =>
  new Engine({ gpu: nodeGpu, hubCache: memoryCache(), kernelCache: memoryKernelCache(), ...options });

/** The first five logits of every golden position and the argmax, as the goldens give them. */
async function expectGoldenLogits(engine: Engine) {
  const { logits, T, V } = await engine.logits(goldens.input_ids);
  goldens.logits_first5_per_position.forEach((row, t) => row.forEach((expected, v) => expect(Math.abs(logits[t * V + v] - expected)).toBeLessThan(1e-4)));
  const argmax = Array.from({ length: T }, (_, t) => {
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[t * V + v] > logits[t * V + best]) best = v;
    return best;
  });
  expect(argmax).toEqual(goldens.argmax_per_position);
}

describe('kernel checks and choices', () => {
  test('cli selftest checks every f32 variant (all pass here) and reports f16 ones as not available without shader-f16', async () => {
    const { stdout } = await cliOutput('selftest', '--json');
    const report = JSON.parse(stdout) as { checks: { kernel: string; variant: string; dtype: string; status: string; maxError: number | null; reason: string | null }[]; failed: number };
    const gpu = await nodeGpu();
    const f32 = report.checks.filter((c) => c.dtype === 'f32');
    const expectedVariants = [...variantsOf('matmul_forward'), ...variantsOf('matmul_backward_input')].length + 1; // + the embedding
    expect(f32).toHaveLength(expectedVariants);
    for (const c of f32) {
      expect(c.status, `${c.kernel} ${c.variant}: ${c.reason}`).toBe('pass');
      expect(c.maxError).toBeLessThanOrEqual(1e-4);
    }
    const f16 = report.checks.filter((c) => c.dtype === 'f16');
    expect(f16).toHaveLength(expectedVariants);
    if (!gpu.info.shaderF16) for (const c of f16) expect([c.status, c.reason]).toEqual(['not available', 'this GPU lacks the shader-f16 feature']);
    expect(report.failed).toBe(0);
    const table = await cliOutput('selftest');
    expect(table.stdout).toMatch(/matmul_forward\s+direct_x16_y1\s+f32\s+\S+\s+pass/);
    expect(table.stdout).toMatch(/checks: \d+ pass, 0 fail/);
  });

  test('a variant that misses its known answer and one that does not compile are not used, and the model still matches the goldens', async () => {
    const engine = engineWith({
      kernelFaults: [
        { kernel: 'matmul_forward', variant: 'direct_x16_y1', fault: 'wrong' },
        { kernel: 'matmul_forward', variant: 'direct_x8_y1', fault: 'compile' },
        { kernel: 'matmul_backward_input', variant: 'direct_x16_y1', fault: 'wrong' },
      ],
    });
    const info = await engine.loadFiles(dirFiles(stories));
    const failed = info.kernels.checks.filter((c) => c.status === 'fail');
    expect(failed.map((c) => `${c.kernel} ${c.variant} ${c.dtype}`).sort()).toEqual([
      'matmul_backward_input direct_x16_y1 f32', 'matmul_forward direct_x16_y1 f32', 'matmul_forward direct_x8_y1 f32',
    ]);
    expect(failed.find((c) => c.variant === 'direct_x16_y1')!.reason).toMatch(/max error .* over the tolerance/);
    expect(failed.find((c) => c.variant === 'direct_x8_y1')!.reason).toMatch(/direct_forward.*compile|error/i);
    // Never timed, never chosen, never launched: the goldens hold.
    for (const shape of info.kernels.choices) {
      expect(Object.keys(shape.ms)).not.toContain('direct_x16_y1');
      if (shape.kernel === 'matmul_forward') expect(Object.keys(shape.ms)).not.toContain('direct_x8_y1');
    }
    const choices = matmulChoices(engine.modelOnGpu().ctx);
    expect(choices.exclusions()).toHaveLength(3);
    for (const N of [1, 4, 16, 100]) expect(['direct_x16_y1', 'direct_x8_y1']).not.toContain(choices.pick('matmul_forward', N, 64, 512, 'f32').id);
    await expectGoldenLogits(engine);
    await engine.unloadModel();
  });

  test('the tuned choice is kept per adapter and model shape: a second load checks and tunes nothing', async () => {
    const cache = memoryKernelCache();
    const first = engineWith({ kernelCache: cache });
    const tuned = (await first.loadFiles(dirFiles(stories))).kernels;
    expect([tuned.checksFrom, tuned.tuning]).toEqual(['checked now', 'tuned now']);
    // Every hot shape (64x64, 64x32, 64x172, 172x64, 64x512), each row class forward and the two training classes
    // backward; each choice its fastest variant.
    expect(tuned.choices).toHaveLength(5 * (4 + 2));
    for (const shape of tuned.choices) expect(shape.ms[shape.variant]).toBe(Math.min(...Object.values(shape.ms)));
    await first.unloadModel();
    const second = engineWith({ kernelCache: cache });
    const cached = (await second.loadFiles(dirFiles(stories))).kernels;
    expect([cached.checksFrom, cached.tuning, cached.setupMs]).toEqual(['cache', 'cache', 0]);
    expect(cached.choices.map((c) => [c.key, c.variant])).toEqual(tuned.choices.map((c) => [c.key, c.variant]));
    await expectGoldenLogits(second);
    await second.unloadModel();
  });

  // One cache for the pinned loads: their checks run once, and pinned loads tune nothing.
  const pinnedCache = memoryKernelCache();
  test.each(variantsOf('matmul_forward').map((v) => v.id))('stories260K matches the goldens with matmul_forward pinned to %s', async (id) => {
    const engine = engineWith({ kernelPins: { matmul_forward: id }, kernelCache: pinnedCache });
    const info = await engine.loadFiles(dirFiles(stories));
    expect([info.kernels.tuning, info.kernels.choices]).toEqual(['pinned', []]);
    await expectGoldenLogits(engine);
    await engine.unloadModel();
  });

  test('a self-test runs every variant and leaves the pinned one pinned', async () => {
    const engine = engineWith({ kernelPins: { matmul_forward: 'direct_x8_y1' }, kernelCache: pinnedCache });
    await engine.loadFiles(dirFiles(stories));
    const checks = await engine.selftest();
    expect(checks.filter((c) => c.kernel === 'matmul_forward' && c.dtype === 'f32').map((c) => c.variant)).toEqual(variantsOf('matmul_forward').map((v) => v.id));
    const choices = matmulChoices(engine.modelOnGpu().ctx);
    expect(choices.pinnedVariant('matmul_forward')).toBe('direct_x8_y1');
    expect(choices.pinnedVariant('matmul_backward_input')).toBeNull();
    expect(choices.pick('matmul_forward', 16, 64, 64, 'f32').id).toBe('direct_x8_y1');
    await engine.unloadModel();
  });

  test('LoRA gradients agree under every pinned input-gradient variant', async () => {
    const config = tinyConfig({ architecture: 'qwen2', attentionBias: true, hiddenSize: 32, intermediateSize: 92 });
    const model = await writeRandomModel(config, 5);
    const engine = engineWith();
    await engine.loadFiles(dirFiles(model.dir));
    const adapter = initAdapter(config, { rank: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj', 'o_proj', 'down_proj'] }, 'test', 3);
    const rng = seeded(11);
    for (const m of adapter.modules) m.B = Float32Array.from(m.B, () => (rng() - 0.5) * 0.4);
    const examples = Array.from({ length: 3 }, (_, i) => {
      const ids = [1, ...randInt(rng, 9 + i, config.vocabSize - 3)].map((id, t) => (t === 0 ? id : id + 3));
      return { inputIds: ids, labels: ids };
    });
    const [batch] = makeBatches(examples, 3, 0, 0);
    const choices = matmulChoices(engine.modelOnGpu().ctx);
    const gradientsWith = async (id: string) => {
      choices.pin('matmul_backward_input', id);
      const lora = GpuLora.upload(engine.modelOnGpu().ctx, adapter);
      const stepper = sftStepper(engine.modelOnGpu(), lora, sftShape([batch], 1));
      const { loss } = await stepper.gradients([batch]);
      const grads = await lora.downloadGradients();
      stepper.destroy();
      lora.destroy();
      return { loss, grads };
    };
    const plain = await gradientsWith('tiled');
    for (const { id } of variantsOf('matmul_backward_input')) {
      const { loss, grads } = await gradientsWith(id);
      expect(loss, id).toBe(plain.loss);
      grads.forEach((g, i) => expectAllClose(g, plain.grads[i], { atol: 1e-6, rtol: 1e-5 }));
    }
    choices.pin('matmul_backward_input', null);
    await engine.unloadModel();
  });
});
