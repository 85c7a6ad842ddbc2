// `train-sft --model DIR --data FILE --out ADAPTER_DIR [--rank R] [--alpha A] [--dropout P] [--targets q_proj,...]
// [--lr X] [--epochs E | --steps S] [--batch-size B] [--grad-accum G] [--max-len T] [--warmup-ratio W]
// [--weight-decay D] [--seed S] [--train-on-inputs] [--val-fraction F]`: one JSON line per step on stdout,
// the PEFT adapter in ADAPTER_DIR.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loraTargets, type LoraTarget } from '../model/lora';
import { examplesFromText } from '../train/examples';
import { exportPeftAdapter } from '../train/peft';
import { defaultSftSettings, runSft, type SftSettings } from '../train/run';
import { UsageError, numberFlag, parseFlags, requireFlag } from './args';
import { engineWithModel } from './node-engine';

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, {
    model: 'string', data: 'string', out: 'string', rank: 'string', alpha: 'string', dropout: 'string', targets: 'string',
    lr: 'string', epochs: 'string', steps: 'string', 'batch-size': 'string', 'grad-accum': 'string', 'max-len': 'string',
    'warmup-ratio': 'string', 'weight-decay': 'string', seed: 'string', 'train-on-inputs': 'boolean', 'val-fraction': 'string',
  });
  const d = defaultSftSettings;
  const targets = (flags.targets?.split(',').map((t) => t.trim()) ?? d.targets) as LoraTarget[];
  const unknown = targets.filter((t) => !loraTargets.includes(t));
  if (unknown.length) throw new UsageError(`unknown --targets ${unknown.join(', ')} (choose from ${loraTargets.join(', ')})`);
  if (flags.epochs !== undefined && flags.steps !== undefined) throw new UsageError('give --epochs or --steps, not both');
  const settings: SftSettings = {
    ...d,
    rank: numberFlag(flags.rank, 'rank', d.rank),
    alpha: numberFlag(flags.alpha, 'alpha', d.alpha),
    dropout: numberFlag(flags.dropout, 'dropout', d.dropout),
    targets,
    lr: numberFlag(flags.lr, 'lr', d.lr),
    epochs: numberFlag(flags.epochs, 'epochs', d.epochs),
    steps: numberFlag(flags.steps, 'steps', 0),
    batchSize: numberFlag(flags['batch-size'], 'batch-size', d.batchSize),
    gradAccum: numberFlag(flags['grad-accum'], 'grad-accum', d.gradAccum),
    warmupRatio: numberFlag(flags['warmup-ratio'], 'warmup-ratio', d.warmupRatio),
    weightDecay: numberFlag(flags['weight-decay'], 'weight-decay', d.weightDecay),
    seed: numberFlag(flags.seed, 'seed', d.seed),
    valFraction: numberFlag(flags['val-fraction'], 'val-fraction', d.valFraction),
  };
  const maxLen = numberFlag(flags['max-len'], 'max-len', 512);
  const outDir = requireFlag(flags.out, 'out');
  const modelDir = requireFlag(flags.model, 'model');
  const { engine, info } = await engineWithModel(modelDir);
  try {
    const text = await readFile(requireFlag(flags.data, 'data'), 'utf8');
    const { examples, truncated } = examplesFromText(text, engine.tokenizer(), info.config.vocabSize, {
      maxLen,
      trainOnInputs: Boolean(flags['train-on-inputs']),
    });
    if (truncated) process.stderr.write(`${truncated} of ${examples.length} rows were longer than --max-len ${maxLen} and were truncated\n`);
    const result = await runSft(engine.modelOnGpu(), examples, settings, {
      baseModel: path.basename(path.resolve(modelDir)),
      padId: engine.padId(),
      onEvent: (e) => {
        const line: Record<string, number> = { step: e.step, loss: e.loss ?? NaN, lr: e.lr, tokens_per_s: e.tokensPerSecond ?? 0 };
        if (e.valLoss !== undefined) line.val_loss = e.valLoss;
        process.stdout.write(`${JSON.stringify(line)}\n`);
      },
    });
    const files = exportPeftAdapter(result.adapter);
    await mkdir(outDir, { recursive: true });
    await writeFile(path.join(outDir, 'adapter_config.json'), files.configJson);
    await writeFile(path.join(outDir, 'adapter_model.safetensors'), files.safetensors);
  } finally {
    await engine.dispose();
  }
}
