// `train-rm --model DIR --data FILE --out ADAPTER_DIR [--rank R] [--alpha A] [--targets ...] [--lr X]
// [--epochs E | --steps S] [--batch-size B] [--max-len T] [--seed S] [--val-fraction F] [--margin] [--run-dir DIR]`: a reward model
// (LoRA + score head) on preference pairs; one JSON line per step {"step","loss","accuracy","margin","lr"} (plus the
// validation accuracy and the held-out pairs it is over, where measured), and a PEFT SEQ_CLS adapter in ADAPTER_DIR.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pairsFromText } from '../train/pairs';
import { exportPeftAdapter } from '../train/peft';
import { defaultRewardSettings, runReward } from '../train/run';
import { numberFlag, parseFlags, requireFlag } from './args';
import { engineWithModel } from './node-engine';
import { trainingFlags, trainingSettings, writeAdapterDir } from './train-flags';
import { trainInSession } from './train-run';

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, { ...trainingFlags, margin: 'boolean' });
  const settings = { ...trainingSettings(flags, defaultRewardSettings), margin: Boolean(flags.margin) };
  const maxLen = numberFlag(flags['max-len'], 'max-len', 512);
  const outDir = requireFlag(flags.out, 'out');
  const modelDir = requireFlag(flags.model, 'model');
  const { engine, info } = await engineWithModel(modelDir);
  try {
    const dataPath = requireFlag(flags.data, 'data');
    const text = await readFile(dataPath, 'utf8');
    const { pairs, truncated } = pairsFromText(text, engine.tokenizer(), info.config.vocabSize, { maxLen, trainOnInputs: false, margins: settings.margin });
    if (truncated) process.stderr.write(`${truncated} of ${pairs.length} pairs had a side longer than --max-len ${maxLen}; it was cut\n`);
    const run = { kind: 'reward', info, dataPath, rows: pairs, truncated, settings, maxLen, trainOnInputs: false, dir: flags['run-dir'] } as const;
    const baseModel = path.basename(path.resolve(modelDir));
    const result = await trainInSession(run, (hooks) => runReward(engine.modelOnGpu(), pairs, settings, { baseModel, padId: engine.padId(), ...engine.trainingMemory(), ...hooks }), (e) => {
      const line: Record<string, number> = { step: e.step, loss: e.loss ?? NaN, accuracy: e.accuracy ?? NaN, margin: e.margin ?? NaN, lr: e.lr };
      if (e.valAccuracy !== undefined) line.val_accuracy = e.valAccuracy;
      if (e.valPairs !== undefined) line.val_pairs = e.valPairs;
      if (e.valLoss !== undefined) line.val_loss = e.valLoss;
      process.stdout.write(`${JSON.stringify(line)}\n`);
    });
    await writeAdapterDir(outDir, exportPeftAdapter(result.adapter, info.config.architecture));
  } finally {
    await engine.dispose();
  }
}
