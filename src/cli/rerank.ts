// `rerank --model DIR [--adapter SFT_DIR] --reward RM_DIR (--prompt TEXT | --ids LIST) --n K --max-new-tokens N
// [the sampling flags of generate] [--json]`: the samples of `generate --n K` with the same flags, each with the
// reward of prompt + sample under the reward model, listed best first.
import { REWARD_SLOT } from '../engine/api';
import { parseFlags, requireFlag } from './args';
import { generateFlags, generateRequest } from './generate';
import { engineWithModel, readAdapterDir } from './node-engine';

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, { ...generateFlags, reward: 'string' });
  const request = generateRequest(flags);
  const { engine, info, adapter } = await engineWithModel(requireFlag(flags.model, 'model'), flags.adapter);
  try {
    await engine.setAdapter(REWARD_SLOT, await readAdapterDir(requireFlag(flags.reward, 'reward'), engine));
    const result = await engine.rerank({ ...request, adapter, reward: REWARD_SLOT });
    const ranked = result.samples
      .map((s, i) => ({ sample: i, seed: s.seed, ids: s.ids, ...(info.hasTokenizer ? { text: s.text } : {}), finish_reason: s.finishReason, reward: result.rewards[i] }))
      .sort((a, b) => b.reward - a.reward || a.sample - b.sample);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ samples: ranked })}\n`);
    } else {
      for (const s of ranked) process.stdout.write(`--- sample ${s.sample + 1} (reward ${s.reward.toFixed(4)}, ${s.finish_reason})\n${'text' in s ? s.text : s.ids.join(',')}\n`);
    }
  } finally {
    await engine.dispose();
  }
}
