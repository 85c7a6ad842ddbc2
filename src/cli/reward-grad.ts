// `reward-grad --model DIR --adapter DIR --data FILE --out FILE`: the reward model's loss and gradients of ONE batch
// of every pair in FILE ({chosen_ids, rejected_ids} per line; no dropout; loss = mean over pairs of
// -log sigmoid(r_chosen - r_rejected)), written as safetensors with PEFT's key names plus `.grad` (every LoRA
// tensor and the score head), and {"loss","accuracy","chosen":[...],"rejected":[...]} (the rewards) on stdout.
import { readFile, writeFile } from 'node:fs/promises';
import { GpuLora } from '../model/lora';
import { writeSafetensors } from '../model/safetensors';
import { REWARD_SLOT } from '../engine/api';
import { pairBatch, parseTokenizedPairs } from '../train/pairs';
import { peftGradientTensors } from '../train/peft';
import { pairShape, rewardStepper } from '../train/reward';
import { UsageError, parseFlags, requireFlag } from './args';
import { engineWithModel, readAdapterDir } from './node-engine';

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, { model: 'string', adapter: 'string', data: 'string', out: 'string' });
  const out = requireFlag(flags.out, 'out');
  const { engine, info } = await engineWithModel(requireFlag(flags.model, 'model'));
  try {
    const adapter = await readAdapterDir(requireFlag(flags.adapter, 'adapter'), engine);
    if (!adapter.score) throw new UsageError('--adapter is not a reward model: its adapter_config.json must say task_type SEQ_CLS with the score head');
    const pairs = parseTokenizedPairs(await readFile(requireFlag(flags.data, 'data'), 'utf8'), info.config.vocabSize);
    const batches = [pairBatch(pairs, engine.padId())];
    const model = engine.modelOnGpu();
    const lora = GpuLora.upload(model.ctx, { ...adapter, dropout: 0 });
    const stepper = rewardStepper(model, lora, pairShape(batches, 1));
    try {
      const metrics = await stepper.gradients(batches);
      await writeFile(out, writeSafetensors(peftGradientTensors(adapter, await lora.downloadGradients(), info.config.architecture)));
      // The rewards themselves, from the same adapter scoring each sequence.
      await engine.setAdapter(REWARD_SLOT, adapter);
      const rewards = await engine.scoreRewards(pairs.flatMap((p) => [{ ids: p.chosen.inputIds }, { ids: p.rejected.inputIds }]));
      const chosen = rewards.filter((_, i) => i % 2 === 0);
      const rejected = rewards.filter((_, i) => i % 2 === 1);
      process.stdout.write(`${JSON.stringify({ loss: metrics.loss, accuracy: metrics.accuracy, chosen, rejected })}\n`);
    } finally {
      stepper.destroy();
      lora.destroy();
    }
  } finally {
    await engine.dispose();
  }
}
