// `npm run cli -- <command> [flags]`: the studio's engine and jobs from the command line.
import { UsageError } from './args';

type Command = { summary: string; load: () => Promise<{ run(argv: string[]): Promise<void> }> };

const commands: Record<string, Command> = {
  info: { summary: 'the GPU adapter and its limits as JSON', load: () => import('./info') },
  selftest: { summary: 'every kernel variant checked against its CPU twin on this GPU: max error, pass or fail ([--json])', load: () => import('./selftest') },
  logits: { summary: 'argmax and logsumexp per position (--model DIR --ids 1,2,3 [--out FILE])', load: () => import('./logits') },
  generate: { summary: 'sample from a model (--model DIR --prompt TEXT | --ids LIST --max-new-tokens N)', load: () => import('./generate') },
  'train-sft': { summary: 'LoRA fine-tuning, one JSON line per step (--model DIR --data FILE --out ADAPTER_DIR)', load: () => import('./train-sft') },
  'train-rm': { summary: 'reward model (LoRA + score head) on preference pairs, one JSON line per step (--model DIR --data FILE --out ADAPTER_DIR)', load: () => import('./train-rm') },
  'reward-grad': { summary: 'reward loss, rewards and gradients of one batch of pairs (--model DIR --adapter DIR --data FILE --out FILE)', load: () => import('./reward-grad') },
  'train-dpo': { summary: 'DPO on preference pairs, from an SFT adapter or the base, one JSON line per step (--model DIR --data FILE --out ADAPTER_DIR [--adapter SFT_DIR])', load: () => import('./train-dpo') },
  'dpo-grad': { summary: 'DPO loss and LoRA gradients of one batch of pairs, reference = the base (--model DIR --adapter DIR --data FILE --beta B --out FILE)', load: () => import('./dpo-grad') },
  score: { summary: 'rewards of sequences under a reward model (--model DIR --reward DIR --ids LIST | --data FILE)', load: () => import('./score') },
  rerank: { summary: 'n samples ranked by a reward model, best first (--model DIR --reward DIR --prompt TEXT --n K --max-new-tokens N)', load: () => import('./rerank') },
  grad: { summary: 'loss and LoRA gradients of one batch (--model DIR --adapter DIR --data FILE --out FILE)', load: () => import('./grad') },
  rouge: { summary: 'ROUGE-L per item and by reference length (--pred FILE --ref FILE [--stem] [--cjk])', load: () => import('./rouge') },
  judge: { summary: 'GPT-4 judge of two answer sets in both orders (--questions F --answers-a F --answers-b F --base-url URL --model M)', load: () => import('./judge') },
  teach: { summary: 'answer instructions with a teacher model, resumable (--source F --out F --base-url URL --model M [--lang zh])', load: () => import('./teach') },
  feedback: { summary: 'rate responses 1-10 with a teacher model, scores + pairs, resumable (--source F --out F --base-url URL --model M)', load: () => import('./feedback') },
};

async function main(): Promise<void> {
  const [name, ...argv] = process.argv.slice(2);
  const command = name ? commands[name] : undefined;
  if (!command) {
    const list = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`).join('\n');
    process.stderr.write(`usage: npm run cli -- <command> [flags]\n\ncommands:\n${list}\n`);
    process.exit(name ? 2 : 0);
  }
  await (await command.load()).run(argv);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${error instanceof UsageError ? 'usage error' : 'error'}: ${message}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
