// `train-sft --model DIR --data FILE --out ADAPTER_DIR [--rank R] [--alpha A] [--dropout P] [--targets q_proj,...]
// [--lr X] [--epochs E | --steps S] [--batch-size B] [--grad-accum G] [--max-len T] [--warmup-ratio W]
// [--weight-decay D] [--seed S] [--train-on-inputs] [--val-fraction F] [--gradient-checkpointing auto|on|off]
// [--run-dir DIR [--checkpoint-every N]]`: one JSON line per step on stdout, the PEFT adapter in ADAPTER_DIR.
// With --run-dir the run and its checkpoints are kept there, and the same command run again resumes from the
// last checkpoint.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { examplesFromText } from '../train/examples';
import { exportPeftAdapter } from '../train/peft';
import { runSft } from '../train/run';
import { numberFlag, parseFlags, requireFlag } from './args';
import { engineWithModel } from './node-engine';
import { trainingFlags, trainingSettings, writeAdapterDir } from './train-flags';
import { trainInSession } from './train-run';

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, { ...trainingFlags, 'train-on-inputs': 'boolean' });
  const settings = trainingSettings(flags);
  const maxLen = numberFlag(flags['max-len'], 'max-len', 512);
  const outDir = requireFlag(flags.out, 'out');
  const modelDir = requireFlag(flags.model, 'model');
  const { engine, info } = await engineWithModel(modelDir);
  try {
    const dataPath = requireFlag(flags.data, 'data');
    const text = await readFile(dataPath, 'utf8');
    const { examples, truncated } = examplesFromText(text, engine.tokenizer(), info.config.vocabSize, {
      maxLen,
      trainOnInputs: Boolean(flags['train-on-inputs']),
    });
    if (truncated) process.stderr.write(`${truncated} of ${examples.length} rows were longer than --max-len ${maxLen} and were truncated\n`);
    const trainOnInputs = Boolean(flags['train-on-inputs']);
    const run = { kind: 'sft', info, dataPath, rows: examples, truncated, settings, maxLen, trainOnInputs, dir: flags['run-dir'] } as const;
    const baseModel = path.basename(path.resolve(modelDir));
    const result = await trainInSession(run, (hooks) => runSft(engine.modelOnGpu(), examples, settings, { baseModel, padId: engine.padId(), ...engine.trainingMemory(), ...hooks }), (e) => {
      const line: Record<string, number> = { step: e.step, loss: e.loss ?? NaN, lr: e.lr, tokens_per_s: e.tokensPerSecond ?? 0 };
      if (e.valLoss !== undefined) line.val_loss = e.valLoss;
      process.stdout.write(`${JSON.stringify(line)}\n`);
    });
    await writeAdapterDir(outDir, exportPeftAdapter(result.adapter, info.config.architecture));
  } finally {
    await engine.dispose();
  }
}
