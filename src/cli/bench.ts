// `npm run bench -- --model DIR | --shape smollm2-135m [--n 4] [--prompt-tokens 64] [--new-tokens 32] [--train 4x128,...]
// [--train-steps 4] [--peer tfjs] [--rounds 3] [--no-profile]`: prefill and decode tokens/s at batch 1 and batch n,
// LoRA training tokens/s for each B x T training shape, and the hardware-independent counts: dispatches and queue
// submits per decode step; dispatches, submits, bytes uploaded and bytes read back per optimizer step. Also one
// training step's profile per kernel (each dispatch replayed alone), matmul GFLOP/s and each training run's planned
// GPU memory. With `--peer tfjs`, the studio and the TF.js peer run the same model folder and sizes in alternation
// for `rounds` rounds and the medians' ratios are printed. `--shape` writes random BF16 weights with a real model's
// shapes to a folder under .cache/bench-models (once) and benches that folder.
import { resolve } from 'node:path';
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
import { benchShapes, writeRandomModel, type BenchShape } from './bench-shapes';
import { byFamily, matmulRates, median, profileDispatches, runPeer } from './bench-profile';
import { engineWithModel } from './node-engine';

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), {
    model: 'string', shape: 'string', n: 'string', 'prompt-tokens': 'string', 'new-tokens': 'string',
    train: 'string', 'train-steps': 'string', peer: 'string', rounds: 'string', 'no-profile': 'boolean',
  });
  const n = positiveInt(flags.n, 'n', 4, 1);
  const promptTokens = positiveInt(flags['prompt-tokens'], 'prompt-tokens', 64, 1);
  const newTokens = positiveInt(flags['new-tokens'], 'new-tokens', 32, 2);
  const trainShapes = parseTrainShapes(flags.train ?? '4x128');
  // At least one step without the loss readback and the one that reads it.
  const trainSteps = positiveInt(flags['train-steps'], 'train-steps', 4, 2);
  if (flags.peer !== undefined && flags.peer !== 'tfjs') throw new UsageError(`--peer must be tfjs, got ${flags.peer}`);
  const rounds = flags.peer ? positiveInt(flags.rounds, 'rounds', 3, 1) : 1;
  const modelDir = benchModelDir(flags.model, flags.shape);
  const { engine, info } = await engineWithModel(modelDir);
  const gpu = await engine.gpuInfo();
  // A fixed pseudo-random prompt of ordinary (non-special) ids, the peer's too.
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
  // The peer gets the same folder and sizes.
  const peerEnv = {
    PEER_MODEL: resolve(modelDir), PEER_P: String(promptTokens), PEER_NEW: String(newTokens), PEER_BATCHES: `1,${n}`, STEPS: String(trainSteps),
  };
  await run(1); // warm-up: pipeline compilation
  // Studio and peer alternate, so both see the same load on a shared machine.
  const ours: StudioRound[] = [];
  const peer: PeerRound[] = [];
  for (let r = 0; r < rounds; r++) {
    const training = [];
    for (const [i, [B, T]] of trainShapes.entries()) {
      training.push(await benchTraining(engine.modelOnGpu(), B, T, trainSteps, r === 0 && i === 0 && !flags['no-profile']));
    }
    ours.push({ generation: await generation(), training });
    if (!flags.peer) continue;
    const train = [];
    for (const [B, T] of trainShapes) train.push(await runPeer('train', { ...peerEnv, PEER_B: String(B), PEER_T: String(T) }));
    peer.push({ train, decode: await runPeer('decode', peerEnv) });
  }
  const rows = ours[0].generation;
  const report = {
    adapter: `${gpu.vendor} ${gpu.architecture} ${gpu.description}`.trim(),
    fallback_adapter: gpu.isFallbackAdapter,
    shader_f16: gpu.shaderF16,
    model: flags.shape ? `${flags.shape} (random weights in ${modelDir})` : info.label,
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

interface StudioRound {
  generation: { batch: number; prefill_tokens_per_s: number; decode_tokens_per_s: number }[];
  training: { batch: number; tokens_per_row: number; tokens_per_s: number }[];
}

/** The peer's JSON lines of one round: one train run per training shape, and one decode run. */
interface PeerRound {
  train: Record<string, unknown>[];
  decode: Record<string, unknown>;
}

/** The folder to bench: --model's, or --shape's random model written out (one of the two). */
function benchModelDir(dir: string | undefined, shape: string | undefined): string {
  if ((dir === undefined) === (shape === undefined)) throw new UsageError('give --model DIR or --shape NAME, one of them');
  if (dir !== undefined) return dir;
  if (!benchShapes.includes(shape as BenchShape)) throw new UsageError(`--shape must be ${benchShapes.join(', ')}, got ${shape}`);
  return writeRandomModel(shape as BenchShape, '.cache/bench-models');
}

/** `--train 1x16,4x64`: the training shapes, rows x tokens per row. */
function parseTrainShapes(value: string): [number, number][] {
  return value.split(',').map((item) => {
    const match = /^(\d+)x(\d+)$/.exec(item.trim());
    const [B, T] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
    if (B < 1 || T < 2) throw new UsageError(`--train must be a list of ROWSxTOKENS with at least 1 row of 2 tokens, e.g. 4x128,1x16; got "${value}"`);
    return [B, T];
  });
}

/** Each round's studio / peer ratio of tokens/s, and their median (the acceptance measure). */
function comparePeer(ours: StudioRound[], peer: PeerRound[], n: number) {
  const peerRow = (p: PeerRound, batch: number) => (p.decode.rows as { batch: number; prefill_tok_s: number; decode_tok_s: number }[]).find((row) => row.batch === batch);
  // The peer prints tokens/s to one decimal (0.2 at SmolLM2's 1 x 16): its ms a step keeps the precision.
  const peerTrainingRate = (run: Record<string, unknown>, t: { batch: number; tokens_per_row: number }) =>
    (t.batch * t.tokens_per_row * 1000) / Number(run.ms_per_step);
  const ratios = ours.map((o, r) => {
    const ratio: Record<string, number> = {};
    o.training.forEach((t, i) => (ratio[`training_${t.batch}x${t.tokens_per_row}`] = round(t.tokens_per_s / peerTrainingRate(peer[r].train[i], t))));
    const [one, many] = o.generation;
    ratio.prefill_batch_1 = round(one.prefill_tokens_per_s / (peerRow(peer[r], 1)?.prefill_tok_s ?? NaN));
    ratio.decode_batch_1 = round(one.decode_tokens_per_s / (peerRow(peer[r], 1)?.decode_tok_s ?? NaN));
    ratio[`decode_batch_${n}`] = round(many.decode_tokens_per_s / (peerRow(peer[r], n)?.decode_tok_s ?? NaN));
    return ratio;
  });
  const median_ratio = Object.fromEntries(Object.keys(ratios[0]).map((key) => [key, round(median(ratios.map((x) => x[key])))]));
  return {
    rounds: ratios.length,
    peer_training_tokens_per_s: peer.map((p) => p.train.map((run, i) => round(peerTrainingRate(run, ours[0].training[i])))),
    studio_training_tokens_per_s: ours.map((o) => o.training.map((t) => t.tokens_per_s)),
    peer_prefill_decode_tokens_per_s: peer.map((p) => [1, n].map((b) => [peerRow(p, b)?.prefill_tok_s, peerRow(p, b)?.decode_tok_s])),
    studio_prefill_decode_tokens_per_s: ours.map((o) => o.generation.map((g) => [g.prefill_tokens_per_s, g.decode_tokens_per_s])),
    // The peer's own counts (round 1): dispatches and submits per training step and per decoded token.
    peer_counts: {
      training: peer[0].train.map((t) => ({ dispatches_per_step: t.dispatches_per_step, submits_per_step: t.submits_per_step })),
      decode: (peer[0].decode.rows as Record<string, unknown>[]).map((row) => ({ batch: row.batch, dispatches_per_step: row.dispatches_per_step, submits_per_step: row.submits_per_step })),
    },
    ratios,
    median_ratio,
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
