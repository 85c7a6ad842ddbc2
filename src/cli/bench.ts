// `npm run bench -- --model DIR [--n 4] [--prompt-tokens 64] [--new-tokens 32]`: prefill and decode tokens/s
// at batch 1 and batch n, and the hardware-independent counts: dispatches and queue submits per decode step.
import { numberFlag, parseFlags, requireFlag } from './args';
import { engineWithModel } from './node-engine';

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), { model: 'string', n: 'string', 'prompt-tokens': 'string', 'new-tokens': 'string' });
  const n = numberFlag(flags.n, 'n', 4);
  const promptTokens = numberFlag(flags['prompt-tokens'], 'prompt-tokens', 64);
  const newTokens = numberFlag(flags['new-tokens'], 'new-tokens', 32);
  const { engine, info } = await engineWithModel(requireFlag(flags.model, 'model'));
  const gpu = await engine.gpuInfo();
  // A fixed pseudo-random prompt of ordinary (non-special) ids.
  const V = info.config.vocabSize;
  const prompt = Array.from({ length: promptTokens }, (_, i) => 3 + ((i * 7919) % (V - 3)));
  const sampling = { temperature: 0.8, topK: 50, topP: 0.95, seed: 1 };
  // Past EOS, so every run decodes the same number of tokens.
  const run = (batch: number) => engine.generate({ prompts: [{ ids: prompt }], n: batch, maxNewTokens: newTokens, sampling, ignoreEos: true });
  await run(1); // warm-up: pipeline compilation
  const rows = [];
  for (const batch of [1, n]) {
    const r = await run(batch);
    rows.push({
      batch,
      prefill_tokens_per_s: round(r.prefillTokensPerSecond),
      decode_tokens_per_s: round(r.decodeTokensPerSecond),
      dispatches_per_step: round(r.dispatchesPerStep),
      submits_per_step: round(r.submitsPerStep),
      generated: r.samples.reduce((a, s) => a + s.ids.length, 0),
    });
  }
  const report = {
    adapter: `${gpu.vendor} ${gpu.architecture} ${gpu.description}`.trim(),
    fallback_adapter: gpu.isFallbackAdapter,
    shader_f16: gpu.shaderF16,
    model: info.label,
    parameters: info.parameterCount,
    weight_dtype: info.weightDtype,
    prompt_tokens: promptTokens,
    new_tokens: newTokens,
    generation: rows,
    batch_speedup: round(rows[1].decode_tokens_per_s / rows[0].decode_tokens_per_s),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  await engine.dispose();
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
