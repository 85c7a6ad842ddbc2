// `score --model DIR --reward ADAPTER_DIR (--ids LIST | --data FILE)`: the reward of each sequence under a reward
// model (a PEFT SEQ_CLS adapter), read at its last token. --data takes one {"input_ids": [...]} or
// {"instruction", "input"?, "output"} object per line (text needs the model's tokenizer; Alpaca template).
// Prints {"rewards": [...]}.
import { readFile } from 'node:fs/promises';
import { REWARD_SLOT, type ScoreInput } from '../engine/api';
import { TrainDataError } from '../train/data';
import { UsageError, idsFlag, parseFlags, requireFlag } from './args';
import { engineWithModel, readAdapterDir } from './node-engine';

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, { model: 'string', reward: 'string', ids: 'string', data: 'string' });
  if ((flags.ids === undefined) === (flags.data === undefined)) throw new UsageError('give --ids or --data (one of them)');
  const { engine } = await engineWithModel(requireFlag(flags.model, 'model'));
  try {
    await engine.setAdapter(REWARD_SLOT, await readAdapterDir(requireFlag(flags.reward, 'reward'), engine));
    const inputs = flags.ids !== undefined ? [{ ids: idsFlag(flags.ids, 'ids') }] : scoreInputs(await readFile(flags.data!, 'utf8'));
    process.stdout.write(`${JSON.stringify({ rewards: await engine.scoreRewards(inputs) })}\n`);
  } finally {
    await engine.dispose();
  }
}

function scoreInputs(text: string): ScoreInput[] {
  return text.split('\n').flatMap((line, i): ScoreInput[] => {
    if (!line.trim()) return [];
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new TrainDataError(`not JSON (${(e as Error).message})`, i + 1);
    }
    if (Array.isArray(row.input_ids)) return [{ ids: row.input_ids as number[] }];
    if (typeof row.instruction === 'string' && typeof row.output === 'string') {
      return [{ text: row.instruction, input: typeof row.input === 'string' ? row.input : '', response: row.output, mode: 'alpaca' as const }];
    }
    throw new TrainDataError('expected {"input_ids": [...]} or {"instruction", "output"}', i + 1);
  });
}
