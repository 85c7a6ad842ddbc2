// `dpo-grad --model DIR --adapter DIR --data FILE [--beta B] --out FILE`: the DPO loss and LoRA gradients of ONE
// batch of every pair in FILE ({"chosen": {"input_ids", "labels"}, "rejected": {...}} per line, labels -100 where
// not trained and aligned with the ids; or {chosen_ids, rejected_ids}, every token trained). The policy is the base
// + the adapter, without dropout; the reference is the base alone; loss = mean over pairs of
// -log sigmoid(beta * ((pi_c - pi_r) - (ref_c - ref_r))). Writes the gradients as safetensors under PEFT's key
// names plus `.grad`, and {"loss","accuracy"} on stdout.
import { readFile, writeFile } from 'node:fs/promises';
import type { ModelOnGpu } from '../model/forward';
import { GpuLora, type LoraAdapter } from '../model/lora';
import { writeSafetensors } from '../model/safetensors';
import { dpoBatch, dpoShape, dpoStepper, indexPairs, readReference, type DpoShape } from '../train/dpo';
import { parseTokenizedPairs } from '../train/pairs';
import { peftGradientTensors } from '../train/peft';
import { defaultDpoSettings } from '../train/run';
import { UsageError, numberFlag, parseFlags, requireFlag } from './args';
import { engineWithModel, readAdapterDir } from './node-engine';

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, { model: 'string', adapter: 'string', data: 'string', beta: 'string', out: 'string' });
  const out = requireFlag(flags.out, 'out');
  const beta = numberFlag(flags.beta, 'beta', defaultDpoSettings.beta);
  const { engine, info } = await engineWithModel(requireFlag(flags.model, 'model'));
  try {
    const adapter = await readAdapterDir(requireFlag(flags.adapter, 'adapter'), engine);
    if (adapter.score) throw new UsageError('--adapter is a reward model (SEQ_CLS): DPO trains a causal LM adapter');
    const pairs = indexPairs(parseTokenizedPairs(await readFile(requireFlag(flags.data, 'data'), 'utf8'), info.config.vocabSize));
    const batches = [dpoBatch(pairs, engine.padId())];
    if (!batches[0].trainedTokens) throw new UsageError('no pair has a trained token: every label is -100 after the shift');
    const model = engine.modelOnGpu();
    const shape = dpoShape(batches, 1);
    const reference = new Float32Array(2 * pairs.length);
    // The base model is the adapter with B at zero: its modules then add exactly nothing.
    const base = { ...adapter, modules: adapter.modules.map((m) => ({ ...m, B: new Float32Array(m.B.length) })) };
    await withStepper(model, base, shape, beta, reference, (made) => readReference(made, batches));
    await withStepper(model, { ...adapter, dropout: 0 }, shape, beta, reference, async ({ stepper }, lora) => {
      const { loss, accuracy } = await stepper.gradients(batches);
      await writeFile(out, writeSafetensors(peftGradientTensors(adapter, await lora.downloadGradients(), info.config.architecture)));
      process.stdout.write(`${JSON.stringify({ loss, accuracy })}\n`);
    });
  } finally {
    await engine.dispose();
  }
}

async function withStepper(
  model: ModelOnGpu,
  adapter: LoraAdapter,
  shape: DpoShape,
  beta: number,
  reference: Float32Array,
  use: (made: ReturnType<typeof dpoStepper>, lora: GpuLora) => Promise<void>,
): Promise<void> {
  const lora = GpuLora.upload(model.ctx, adapter);
  const made = dpoStepper(model, lora, shape, beta, reference);
  try {
    await use(made, lora);
  } finally {
    made.stepper.destroy();
    lora.destroy();
  }
}
