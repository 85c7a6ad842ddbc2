// `grad --model DIR --adapter DIR --data FILE [--max-len T] --out FILE`: loss and LoRA gradients of ONE batch
// made of every row of FILE (no dropout; loss = mean over trained tokens), written as safetensors with PEFT's
// key names plus `.grad`, and {"loss": ...} on stdout. For parity checks against other implementations.
import { readFile, writeFile } from 'node:fs/promises';
import { writeSafetensors } from '../model/safetensors';
import { makeBatches } from '../train/data';
import { examplesFromText } from '../train/examples';
import { GpuLora } from '../model/lora';
import { peftGradientTensors } from '../train/peft';
import { sftShape, sftStepper } from '../train/sft';
import { numberFlag, parseFlags, requireFlag } from './args';
import { engineWithModel, readAdapterDir } from './node-engine';

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, { model: 'string', adapter: 'string', data: 'string', 'max-len': 'string', out: 'string' });
  const out = requireFlag(flags.out, 'out');
  const { engine, info } = await engineWithModel(requireFlag(flags.model, 'model'));
  try {
    const adapter = await readAdapterDir(requireFlag(flags.adapter, 'adapter'), engine);
    const { examples } = examplesFromText(await readFile(requireFlag(flags.data, 'data'), 'utf8'), engine.tokenizer(), info.config.vocabSize, {
      maxLen: numberFlag(flags['max-len'], 'max-len', 512),
      trainOnInputs: false,
    });
    const [batch] = makeBatches(examples, examples.length, 0, engine.padId());
    const model = engine.modelOnGpu();
    const lora = GpuLora.upload(model.ctx, adapter);
    const stepper = sftStepper(model, lora, sftShape([batch], 1));
    try {
      const { loss } = await stepper.gradients([batch]);
      await writeFile(out, writeSafetensors(peftGradientTensors(adapter, await lora.downloadGradients(), info.config.architecture)));
      process.stdout.write(`${JSON.stringify({ loss })}\n`);
    } finally {
      stepper.destroy();
      lora.destroy();
    }
  } finally {
    await engine.dispose();
  }
}
