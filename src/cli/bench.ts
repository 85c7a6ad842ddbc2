// `npm run bench -- --model DIR | --shape smollm2-135m [--n 4] [--prompt-tokens 64] [--new-tokens 32] [--train-batch 4] [--train-len 128]
// [--train-steps 4] [--peer tfjs] [--rounds 3]`: prefill and decode tokens/s at batch 1 and batch n, LoRA training
// tokens/s, and the hardware-independent counts: dispatches and queue submits per decode step; dispatches, submits,
// bytes uploaded and bytes read back per optimizer step. Also one training step's profile per kernel (each
// dispatch replayed alone), matmul GFLOP/s and the training run's planned GPU memory. With `--peer tfjs`, the
// studio and the TF.js peer run in alternation for `rounds` rounds and the medians' ratios are printed.
// `--shape` builds random BF16 weights with a real model's shapes in process instead of loading a folder.
import type { Dispatch, GpuStats } from '../gpu/context';
import type { ModelOnGpu } from '../model/forward';
import { MemoryPlan, planWeights } from '../model/memory';
import { expectedTensors } from '../model/weights';
import { makeBatches } from '../train/data';
import { initAdapter } from '../train/init';
import { GpuLora } from '../model/lora';
import { defaultSftSettings } from '../train/run';
import { planTraining } from '../train/stepper';
import { layoutSftHead, sftShape, sftStepper } from '../train/sft';
import { UsageError, numberFlag, parseFlags } from './args';
import { benchShapes, randomModelFiles, type BenchShape } from './bench-shapes';
import { byFamily, matmulRates, median, profileDispatches, runPeer } from './bench-profile';
import { engineWithModel, nodeEngine } from './node-engine';

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), {
    model: 'string', shape: 'string', n: 'string', 'prompt-tokens': 'string', 'new-tokens': 'string',
    'train-batch': 'string', 'train-len': 'string', 'train-steps': 'string', peer: 'string', rounds: 'string',
  });
  const n = numberFlag(flags.n, 'n', 4);
  const promptTokens = numberFlag(flags['prompt-tokens'], 'prompt-tokens', 64);
  const newTokens = numberFlag(flags['new-tokens'], 'new-tokens', 32);
  const trainBatch = positiveInt(flags['train-batch'], 'train-batch', 4, 1);
  const trainLen = positiveInt(flags['train-len'], 'train-len', 128, 2);
  // At least one step without the loss readback and the one that reads it.
  const trainSteps = positiveInt(flags['train-steps'], 'train-steps', 4, 2);
  if (flags.peer !== undefined && flags.peer !== 'tfjs') throw new UsageError(`--peer must be tfjs, got ${flags.peer}`);
  const rounds = flags.peer ? positiveInt(flags.rounds, 'rounds', 3, 1) : 1;
  const { engine, info } = await benchModel(flags.model, flags.shape, Boolean(flags.peer));
  const gpu = await engine.gpuInfo();
  // A fixed pseudo-random prompt of ordinary (non-special) ids.
  const V = info.config.vocabSize;
  const prompt = Array.from({ length: promptTokens }, (_, i) => 3 + ((i * 7919) % (V - 3)));
  const sampling = { temperature: 0.8, topK: 50, topP: 0.95, seed: 1 };
  // Past EOS, so every run decodes the same number of tokens.
  const run = (batch: number) => engine.generate({ prompts: [{ ids: prompt }], n: batch, maxNewTokens: newTokens, sampling, ignoreEos: true });
  const generation = async () => {
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
    return rows;
  };
  await run(1); // warm-up: pipeline compilation
  // Studio and peer alternate, so both see the same load on a shared machine.
  const ours: { generation: Awaited<ReturnType<typeof generation>>; training: Awaited<ReturnType<typeof benchTraining>> }[] = [];
  const peer: { train: Record<string, unknown>; decode: Record<string, unknown> }[] = [];
  for (let r = 0; r < rounds; r++) {
    ours.push({ generation: await generation(), training: await benchTraining(engine.modelOnGpu(), trainBatch, trainLen, trainSteps, r === 0) });
    if (flags.peer) peer.push({ train: await runPeer('train'), decode: await runPeer('decode') });
  }
  const rows = ours[0].generation;
  const report = {
    adapter: `${gpu.vendor} ${gpu.architecture} ${gpu.description}`.trim(),
    fallback_adapter: gpu.isFallbackAdapter,
    shader_f16: gpu.shaderF16,
    model: info.label,
    parameters: info.parameterCount,
    weight_dtype: info.weightDtype,
    // What runs where on this adapter: the checks' outcome and each hot shape's chosen variant per row class.
    kernels: {
      tuning: info.kernels.tuning,
      checks_failed: info.kernels.checks.filter((c) => c.status === 'fail').map((c) => `${c.kernel} ${c.variant} ${c.dtype}: ${c.reason}`),
      fallback: info.kernels.fallback,
      chosen: Object.fromEntries(info.kernels.choices.map((c) => [c.key, c.variant])),
    },
    prompt_tokens: promptTokens,
    new_tokens: newTokens,
    generation: rows,
    batch_speedup: round(rows[1].decode_tokens_per_s / rows[0].decode_tokens_per_s),
    training: ours[0].training,
    matmul: await matmulRates(engine.modelOnGpu().ctx),
    ...(flags.peer && { peer: comparePeer(ours, peer, n) }),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  await engine.dispose();
}

/** The engine with the --model folder or the --shape model loaded (the peer only runs stories260K's shape). */
async function benchModel(dir: string | undefined, shape: string | undefined, peer: boolean) {
  if ((dir === undefined) === (shape === undefined)) throw new UsageError('give --model DIR or --shape NAME, one of them');
  if (dir !== undefined) return engineWithModel(dir);
  if (!benchShapes.includes(shape as BenchShape)) throw new UsageError(`--shape must be ${benchShapes.join(', ')}, got ${shape}`);
  if (peer) throw new UsageError('--peer runs stories260K: compare with --model test/fixtures/stories260K, not --shape');
  const engine = nodeEngine();
  return { engine, info: await engine.loadFiles(randomModelFiles(shape as BenchShape)) };
}

/** Each round's studio / peer ratio of tokens/s, and their median (the acceptance measure). */
function comparePeer(
  ours: { generation: { batch: number; decode_tokens_per_s: number }[]; training: { tokens_per_s: number } }[],
  peer: { train: Record<string, unknown>; decode: Record<string, unknown> }[],
  n: number,
) {
  const peerDecode = (p: (typeof peer)[number], batch: number) => {
    const rows = p.decode.rows as { batch: number; decode_tok_s: number }[];
    return rows.find((row) => row.batch === batch)?.decode_tok_s ?? NaN;
  };
  const ratios = ours.map((o, r) => ({
    training: round(o.training.tokens_per_s / Number(peer[r].train.tokens_per_s)),
    decode_batch_1: round(o.generation[0].decode_tokens_per_s / peerDecode(peer[r], 1)),
    // The peer decodes batches of 1 and 4.
    ...(n === 4 && { decode_batch_4: round(o.generation[1].decode_tokens_per_s / peerDecode(peer[r], 4)) }),
  }));
  const medianOf = (key: keyof (typeof ratios)[number]) => round(median(ratios.map((x) => x[key] ?? NaN)));
  return {
    rounds: ratios.length,
    peer_training_tokens_per_s: peer.map((p) => p.train.tokens_per_s),
    studio_training_tokens_per_s: ours.map((o) => o.training.tokens_per_s),
    peer_decode_tokens_per_s: peer.map((p) => [peerDecode(p, 1), peerDecode(p, 4)]),
    studio_decode_tokens_per_s: ours.map((o) => o.generation.map((g) => g.decode_tokens_per_s)),
    ratios,
    median_ratio: { training: medianOf('training'), decode_batch_1: medianOf('decode_batch_1'), ...(n === 4 && { decode_batch_4: medianOf('decode_batch_4') }) },
  };
}

/**
 * LoRA SFT at the trainer's defaults (rank 8, alpha 16, dropout, q/k/v/o) on one synthetic pre-tokenized batch of
 * B rows x T tokens, every token trained. After a warm-up step (pipeline compilation), `steps` timed steps; only
 * the last reads the loss back, as a run that logs every `steps` steps would. Counts are ctx.stats deltas.
 */
async function benchTraining(model: ModelOnGpu, B: number, T: number, steps: number, profile: boolean) {
  const { ctx, config } = model;
  const settings = defaultSftSettings;
  // Ordinary (non-special) ids after BOS, as in the generation prompt.
  const V = config.vocabSize;
  const examples = Array.from({ length: B }, (_, b) => {
    const ids = Array.from({ length: T }, (_, t) => (t === 0 ? (config.bosTokenId ?? 1) : 3 + ((b * 104729 + t * 7919) % (V - 3))));
    return { inputIds: ids, labels: ids };
  });
  const [batch] = makeBatches(examples, B, settings.seed, 0);
  const adapter = initAdapter(config, settings, 'bench', settings.seed);
  const lora = GpuLora.upload(ctx, adapter);
  const shape = sftShape([batch], 1);
  const stepper = sftStepper(model, lora, shape);
  // What the engine would plan for this run: the weights, then the adapter, activations, gradients and head.
  const plan = new MemoryPlan();
  planWeights(plan, expectedTensors(config), ctx.shaderF16 ? 'f16' : 'f32');
  planTraining(plan, config, settings, shape, (make) => layoutSftHead(make, config, shape));
  const optimizer = { beta1: settings.beta1, beta2: settings.beta2, eps: settings.eps, weightDecay: settings.weightDecay, maxGradNorm: settings.maxGradNorm };
  const step = (i: number, readLoss: boolean) => stepper.step([batch], settings.lr, i, optimizer, settings.seed + i, readLoss);
  try {
    await step(1, true); // warm-up: pipeline compilation
    let quiet: GpuStats | null = null; // a step that does not read the loss
    let reading: GpuStats | null = null; // the step that does
    let loss: number | null = null;
    const start = performance.now();
    for (let i = 2; i < steps + 2; i++) {
      const before = { ...ctx.stats };
      const last = i === steps + 1;
      loss = (await step(i, last))?.loss ?? null;
      const delta = statsDelta(ctx.stats, before);
      if (last) reading = delta;
      else quiet ??= delta;
    }
    // The last step's readback waited for every submitted step.
    const seconds = (performance.now() - start) / 1000;
    let kernels = null;
    if (profile) {
      const recorded: Dispatch[] = (ctx.recording = []);
      await step(steps + 2, true);
      ctx.recording = null;
      kernels = await profileDispatches(ctx, recorded);
    }
    return {
      batch: B,
      tokens_per_row: T,
      rank: settings.rank,
      targets: settings.targets,
      lora_parameters: adapter.modules.reduce((a, m) => a + m.A.length + m.B.length, 0),
      steps,
      tokens_per_s: round((steps * batch.tokens) / seconds),
      ms_per_step: round((seconds * 1000) / steps),
      loss: loss === null ? null : round(loss),
      per_step: quiet && { dispatches: quiet.dispatches, submits: quiet.submits, bytes_uploaded: quiet.bytesUploaded, bytes_read: quiet.bytesRead },
      per_step_reading_loss: reading && { dispatches: reading.dispatches, submits: reading.submits, bytes_uploaded: reading.bytesUploaded, bytes_read: reading.bytesRead },
      planned_peak_bytes: plan.totalBytes,
      planned_bytes_by_group: plan.byGroup(),
      ...(kernels && { profile: { families: byFamily(kernels.kernels), kernels: kernels.kernels, submit_overhead_ms: kernels.submitOverheadMs } }),
    };
  } finally {
    stepper.destroy();
    lora.destroy();
  }
}

function statsDelta(after: GpuStats, before: GpuStats): GpuStats {
  return {
    dispatches: after.dispatches - before.dispatches,
    submits: after.submits - before.submits,
    bytesUploaded: after.bytesUploaded - before.bytesUploaded,
    bytesRead: after.bytesRead - before.bytesRead,
  };
}

function positiveInt(value: string | undefined, name: string, fallback: number, min: number): number {
  const x = numberFlag(value, name, fallback);
  if (!Number.isSafeInteger(x) || x < min) throw new UsageError(`--${name} must be an integer of at least ${min}, got ${x}`);
  return x;
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
