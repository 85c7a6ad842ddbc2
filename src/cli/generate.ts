// `generate --model DIR [--adapter DIR] (--prompt TEXT | --ids LIST) --max-new-tokens N [--temperature T] [--top-p P]
// [--top-k K] [--seed S] [--n K] [--mode chat|alpaca|raw] [--json]`: samples and tokens/s.
import type { GenerateRequest, PromptMode } from '../engine/api';
import { UsageError, idsFlag, numberFlag, parseFlags, requireFlag, type Flags } from './args';
import { engineWithModel } from './node-engine';

/** The flags of generate, which rerank shares. */
export const generateFlags = {
  model: 'string',
  adapter: 'string',
  prompt: 'string',
  ids: 'string',
  mode: 'string',
  'max-new-tokens': 'string',
  temperature: 'string',
  'top-p': 'string',
  'top-k': 'string',
  seed: 'string',
  n: 'string',
  json: 'boolean',
} as const;

/** The generation request the flags describe. */
export function generateRequest(flags: Flags<typeof generateFlags>): GenerateRequest {
  if ((flags.prompt === undefined) === (flags.ids === undefined)) throw new UsageError('give exactly one of --prompt or --ids');
  const mode = (flags.mode ?? 'raw') as PromptMode;
  if (!['chat', 'alpaca', 'raw'].includes(mode)) throw new UsageError('--mode must be chat, alpaca or raw');
  return {
    prompts: flags.ids !== undefined ? [{ ids: idsFlag(flags.ids, 'ids') }] : [{ text: flags.prompt!, mode }],
    n: numberFlag(flags.n, 'n', 1),
    maxNewTokens: numberFlag(requireFlag(flags['max-new-tokens'], 'max-new-tokens'), 'max-new-tokens', 0),
    sampling: {
      temperature: numberFlag(flags.temperature, 'temperature', 0),
      topK: numberFlag(flags['top-k'], 'top-k', 0),
      topP: numberFlag(flags['top-p'], 'top-p', 1),
      seed: numberFlag(flags.seed, 'seed', 0),
    },
  };
}

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, generateFlags);
  const request = generateRequest(flags);
  const { engine, info, adapter } = await engineWithModel(requireFlag(flags.model, 'model'), flags.adapter);
  try {
    const result = await engine.generate({ ...request, adapter });
    const output = {
      samples: result.samples.map((s) => ({ seed: s.seed, ids: s.ids, ...(info.hasTokenizer ? { text: s.text } : {}), finish_reason: s.finishReason })),
      prompt_tokens: result.promptTokens,
      prefill_tokens_per_s: result.prefillTokensPerSecond,
      decode_tokens_per_s: result.decodeTokensPerSecond,
    };
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(output)}\n`);
    } else {
      for (const s of output.samples) {
        process.stdout.write(`--- sample (seed ${s.seed}, ${s.finish_reason})\n${'text' in s ? s.text : s.ids.join(',')}\n`);
      }
      process.stdout.write(`prefill ${output.prefill_tokens_per_s.toFixed(1)} tok/s, decode ${output.decode_tokens_per_s.toFixed(1)} tok/s\n`);
    }
  } finally {
    await engine.dispose();
  }
}
