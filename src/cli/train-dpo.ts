// `train-dpo --model DIR --data FILE --out ADAPTER_DIR [--adapter SFT_DIR] [--beta B] [the train-sft flags]`: DPO on
// preference pairs (text pairs in the Alpaca template, or pre-tokenized pairs as dpo-grad reads them). The policy
// starts from the SFT adapter (and the reference is that adapter, frozen) or from a fresh adapter (the reference is
// then the base model). One JSON line per step under TRL's metric names, and a PEFT adapter in ADAPTER_DIR; with
// --run-dir DIR the run and its checkpoints (reference log-probs included) are kept there and a rerun resumes.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pairsFromText } from '../train/pairs';
import { exportPeftAdapter } from '../train/peft';
import { defaultDpoSettings, runDpo, type TrainEvent } from '../train/run';
import { UsageError, numberFlag, parseFlags, requireFlag } from './args';
import { engineWithModel, readAdapterDir } from './node-engine';
import { trainingFlags, trainingSettings, writeAdapterDir } from './train-flags';
import { trainInSession } from './train-run';

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, { ...trainingFlags, beta: 'string', adapter: 'string' });
  const settings = { ...trainingSettings(flags, defaultDpoSettings), beta: numberFlag(flags.beta, 'beta', defaultDpoSettings.beta) };
  const maxLen = numberFlag(flags['max-len'], 'max-len', 512);
  const outDir = requireFlag(flags.out, 'out');
  const modelDir = requireFlag(flags.model, 'model');
  const { engine, info } = await engineWithModel(modelDir);
  try {
    const start = flags.adapter === undefined ? undefined : await readAdapterDir(flags.adapter, engine);
    if (start?.score) throw new UsageError('--adapter is a reward model (SEQ_CLS): DPO starts from an SFT (causal LM) adapter');
    const dataPath = requireFlag(flags.data, 'data');
    const text = await readFile(dataPath, 'utf8');
    const { pairs, truncated } = pairsFromText(text, engine.tokenizer(), info.config.vocabSize, { maxLen, trainOnInputs: false, margins: false });
    if (truncated) process.stderr.write(`${truncated} of ${pairs.length} pairs had a side longer than --max-len ${maxLen}; it was cut\n`);
    const run = { kind: 'dpo', info, dataPath, rows: pairs, truncated, settings, maxLen, trainOnInputs: false, dir: flags['run-dir'] } as const;
    const baseModel = path.basename(path.resolve(modelDir));
    const result = await trainInSession(run, (hooks) => runDpo(engine.modelOnGpu(), pairs, settings, { baseModel, padId: engine.padId(), ...engine.trainingMemory(), start, ...hooks }), (e) =>
      process.stdout.write(`${JSON.stringify(trlLine(e))}\n`),
    );
    await writeAdapterDir(outDir, exportPeftAdapter(result.adapter, info.config.architecture));
  } finally {
    await engine.dispose();
  }
}

/** A step's metrics under the names TRL's DPOTrainer logs. */
function trlLine(e: TrainEvent): Record<string, number> {
  const line: Record<string, number> = {
    step: e.step,
    loss: e.loss ?? NaN,
    'rewards/accuracies': e.accuracy ?? NaN,
    'rewards/chosen': e.chosenReward ?? NaN,
    'rewards/rejected': e.rejectedReward ?? NaN,
    'rewards/margins': e.margin ?? NaN,
    lr: e.lr,
  };
  if (e.valLoss !== undefined) Object.assign(line, { eval_loss: e.valLoss, 'eval_rewards/accuracies': e.valAccuracy ?? NaN, 'eval_rewards/margins': e.valMargin ?? NaN });
  return line;
}
