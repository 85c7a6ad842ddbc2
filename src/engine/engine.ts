// The engine behind EngineApi: one GPU, at most one loaded model. The worker exposes it to the UI with comlink;
// the CLI, tests and benchmarks use it in-process on Node's WebGPU.
import { GpuContext } from '../gpu/context';
import type { Gpu } from '../gpu/device';
import { GpuLostError } from '../gpu/errors';
import { NoAdapterError, NoModelError, NoTokenizerError } from './errors';
import { runKernelChecks, type KernelCheck } from './kernel-checks';
import { matmulChoices, type KernelFault, type MatmulKernel } from '../kernels/matmul-variants';
import { memoryKernelCache, prepareKernels, type KernelCache, type KernelPins } from './kernel-setup';
import { checkFinite, requestExamples, requestPairs } from './request-data';
import { loadConfig } from '../model/config';
import { browserFiles, readBytes, readText, type ModelFiles } from '../model/files';
import type { FileCache } from '../model/file-cache';
import type { ModelOnGpu } from '../model/forward';
import { generate, InferenceWorkspace, sequenceLogits, sequenceRewards } from '../model/generate';
import { hubFiles } from '../model/hub';
import { GpuLora, type LoraAdapter } from '../model/lora';
import { DEFAULT_MEMORY_BUDGET, MemoryPlan, planLora, planWeights, trainingMemoryAdvice, type GpuMemoryLimits } from '../model/memory';
import { openModelWeights, toFloat32 } from '../model/safetensors';
import { checkWeightsMatchConfig, destroyWeights, expectedTensors, uploadWeights } from '../model/weights';
import { alpacaExample, chatExample, type InstructionRow } from '../train/data';
import { exportMergedSafetensors, exportPeftAdapter, importPeftAdapter, mergeAdapter, type PeftFiles } from '../train/peft';
import { planDpo, planReward, planSft, runDpo, runReward, runSft, type Checkpoint, type RunOptions, type SftResult, type TrainEvent } from '../train/run';
import type { TrainingPlan } from '../train/stepper';
import { alpacaPrompt } from '../tokenizer/templates';
import { loadTokenizer, tokenTexts, type TextTokenizer } from '../tokenizer/tokenizer';
import {
  POLICY_SLOT,
  REWARD_SLOT,
  type RerankRequest,
  type RerankResult,
  type DpoTrainRequest,
  type RewardTrainRequest,
  type ScoreInput,
  type AdapterSlotInfo,
  type EngineApi,
  type GenerateRequest,
  type GenerateResult,
  type LoadProgress,
  type LogitsResult,
  type MemoryReport,
  type ModelInfo,
  type ModelSource,
  type PromptMode,
  type TokenEvent,
  type PreviewToken,
  type TrainRequest,
  type TrainResult,
} from './api';

export interface EngineOptions {
  gpu: () => Promise<Gpu>;
  /** Where Hub downloads are kept so a second load needs no network. */
  hubCache: FileCache;
  /** Bytes the engine may hold on the GPU (WebGPU does not report a GPU's memory); 4 GB by default. */
  memoryBudget?: number;
  /** Where kernel checks and tuned choices are kept between loads; in memory (this engine's life) by default. */
  kernelCache?: KernelCache;
  /** Kernel variants pinned by hand (tests, benchmarks): nothing is tuned. */
  kernelPins?: KernelPins;
  /** Test hook: variants built broken on this engine's GPU, to show their checks fail and the fallback taken. */
  kernelFaults?: { kernel: MatmulKernel; variant: string; fault: KernelFault }[];
}

interface LoadedModel extends ModelOnGpu {
  info: ModelInfo;
  tokenizer: TextTokenizer | null;
  /** Where the weights came from: read again to export merged weights or to reload after a lost GPU. */
  files: ModelFiles;
  /** Named adapters over the one base (an SFT "policy", a "reward" model...), each uploaded once. */
  slots: Map<string, GpuLora>;
  /** The CPU copy of each slot's adapter, to upload again on a new device after a lost GPU. */
  adapters: Map<string, LoraAdapter>;
  limits: GpuMemoryLimits;
  /** Inference buffers reused by every generate() and logits() call. */
  workspace: InferenceWorkspace;
  /** The resident weights, for memory plans. */
  weightPlan: MemoryPlan;
}

export class Engine implements EngineApi {
  private gpu: Promise<{ gpu: Gpu; ctx: GpuContext }> | null = null;
  private model: LoadedModel | null = null;
  /** The model files of a model whose GPU was lost, so recover() can load them on a new device. */
  private lost: { error: GpuLostError; files: ModelFiles; adapters: Map<string, LoraAdapter> } | null = null;
  private disposing = false;
  private cancelRequested = false;
  private pauseRequested = false;
  /** The step after which a training run destroys the device (destroyDeviceAfterStep, a test hook). */
  private destroyAfterStep: number | null = null;
  private readonly kernelCache: KernelCache;

  constructor(private readonly options: EngineOptions) {
    this.kernelCache = options.kernelCache ?? memoryKernelCache();
  }

  /** Runs every kernel check on this GPU now (not from the cache): each variant with its max error, pass or fail. */
  async selftest(): Promise<KernelCheck[]> {
    return runKernelChecks((await this.context()).ctx);
  }

  async gpuInfo() {
    return (await this.context()).gpu.info;
  }

  async loadModel(source: ModelSource, onProgress?: (progress: LoadProgress) => void): Promise<ModelInfo> {
    const files =
      source.kind === 'files'
        ? browserFiles(source.files)
        : await hubFiles(source.id, {
            endpoint: source.endpoint,
            revision: source.revision,
            cache: this.options.hubCache,
            onProgress,
          });
    return this.loadFiles(files, onProgress);
  }

  /** Loads from any ModelFiles (a Node folder, picked files, the Hub). The old model stays until this succeeds. */
  async loadFiles(files: ModelFiles, onProgress?: (progress: LoadProgress) => void): Promise<ModelInfo> {
    const { gpu, ctx } = await this.context();
    const config = await loadConfig(files);
    const source = await openModelWeights(files);
    // Before anything is sized from the config: a config that disagrees with the tensors is refused here.
    checkWeightsMatchConfig(config, source.tensors, files.label);
    const tokenizer = await loadTokenizer(files);
    const limits: GpuMemoryLimits = { ...gpu.info.limits, memoryBudget: this.options.memoryBudget ?? DEFAULT_MEMORY_BUDGET };
    // Settles the weights' dtype and the kernels' variants for this GPU before anything is sized from them.
    const kernels = await prepareKernels(ctx, gpu.info, config, {
      cache: this.kernelCache,
      pins: this.options.kernelPins,
      onProgress: (stage, done, total) => onProgress?.({ stage, loadedBytes: done, totalBytes: total, unit: 'steps' }),
    });
    const weightPlan = new MemoryPlan();
    planWeights(weightPlan, expectedTensors(config), ctx.weightDtype);
    weightPlan.check(limits, `${files.label}'s weights`, 'load a smaller model');
    const weights = await uploadWeights(ctx, config, source, files.label, gpu.info.limits, (loadedBytes, totalBytes) =>
      onProgress?.({ stage: 'uploading weights to the GPU', loadedBytes, totalBytes }),
    );
    await this.unloadModel();
    const info: ModelInfo = {
      label: files.label,
      config,
      hasTokenizer: tokenizer !== null,
      hasChatTemplate: tokenizer?.hasChatTemplate ?? false,
      parameterCount: weights.parameterCount,
      weightDtype: weights.dtype,
      gpuBytes: weights.bytes,
      kernels,
    };
    const model: LoadedModel = { ctx, config, weights, tokenizer, info, files, slots: new Map(), adapters: new Map(), limits, weightPlan, workspace: null! };
    model.workspace = new InferenceWorkspace(ctx, config, (plan) => this.checkRun(model, plan, 'generation', 'lower n, the prompt length or max new tokens'));
    this.model = model;
    this.lost = null;
    return info;
  }

  async unloadModel(): Promise<void> {
    if (this.model) {
      destroyWeights(this.model.weights);
      for (const lora of this.model.slots.values()) lora.destroy();
      this.model.workspace.destroy();
    }
    this.model = null;
  }

  /**
   * After a lost GPU: loads the same model files on a new device, with the adapters its slots held, so a run can
   * resume from its last checkpoint.
   */
  async recover(onProgress?: (progress: LoadProgress) => void): Promise<ModelInfo> {
    if (!this.lost) throw this.model ? new Error('The GPU was not lost: nothing to recover.') : new NoModelError();
    const { files, adapters } = this.lost;
    const info = await this.loadFiles(files, onProgress);
    for (const [slot, adapter] of adapters) await this.setAdapter(slot, adapter);
    return info;
  }

  /** Puts an adapter in a named slot (replacing what was there), uploaded once and used by requests naming it. */
  async setAdapter(slot: string, adapter: LoraAdapter): Promise<void> {
    const model = this.loaded();
    checkFinite(adapter, model.config.architecture);
    const plan = this.heldPlan(model, new MemoryPlan(), slot);
    planLora(plan, model.config, adapter, false);
    plan.check(model.limits, `the adapters with "${slot}"`, 'clear another adapter slot or use a lower rank');
    const next = GpuLora.upload(model.ctx, adapter);
    model.slots.get(slot)?.destroy();
    model.slots.set(slot, next);
    model.adapters.set(slot, adapter);
  }

  /** Reads a PEFT adapter (adapter_config.json + adapter_model.safetensors) into a slot. */
  async loadAdapterFiles(files: File[], slot = POLICY_SLOT): Promise<{ rank: number; alpha: number; targets: string[] }> {
    const model = this.loaded();
    const source = browserFiles(files, 'adapter files');
    const adapter = importPeftAdapter(await readText(source, 'adapter_config.json'), await readBytes(source, 'adapter_model.safetensors'), model.config);
    await this.setAdapter(slot, adapter);
    return { rank: adapter.rank, alpha: adapter.alpha, targets: adapter.targets };
  }

  async clearAdapter(slot = POLICY_SLOT): Promise<void> {
    const model = this.loaded();
    model.slots.get(slot)?.destroy();
    model.slots.delete(slot);
    model.adapters.delete(slot);
  }

  /** The slots holding an adapter, with their settings. */
  async adapterSlots(): Promise<AdapterSlotInfo[]> {
    return [...this.loaded().slots].map(([slot, { adapter }]) => ({ slot, rank: adapter.rank, alpha: adapter.alpha, targets: adapter.targets }));
  }

  /** The GPU memory an SFT run of `request` will hold, planned from its largest batch over every epoch. */
  async planTraining(request: TrainRequest): Promise<MemoryReport> {
    const model = this.loaded();
    const { examples } = requestExamples(() => this.requireTokenizer(model), request);
    return this.report(model, planSft(model.config, examples, request.settings, this.padId(), this.fits(model)));
  }

  async planRewardTraining(request: RewardTrainRequest): Promise<MemoryReport> {
    const model = this.loaded();
    const { pairs } = requestPairs(() => this.requireTokenizer(model), request.data, request.maxLen, request.settings.margin);
    return this.report(model, planReward(model.config, pairs, request.settings, this.padId(), this.fits(model)));
  }

  async trainSft(request: TrainRequest, onEvent?: (event: TrainEvent) => void, onCheckpoint?: (checkpoint: Checkpoint) => void): Promise<TrainResult> {
    const model = this.loaded();
    const { examples, truncated } = requestExamples(() => this.requireTokenizer(model), request);
    const result = await this.train(model, request.resume, onEvent, onCheckpoint, (options) => runSft(model, examples, request.settings, options));
    await this.setAdapter(request.slot ?? POLICY_SLOT, result.adapter);
    return { ...result, truncated };
  }

  async trainReward(request: RewardTrainRequest, onEvent?: (event: TrainEvent) => void, onCheckpoint?: (checkpoint: Checkpoint) => void): Promise<TrainResult> {
    const model = this.loaded();
    const { pairs, truncated } = requestPairs(() => this.requireTokenizer(model), request.data, request.maxLen, request.settings.margin);
    const result = await this.train(model, request.resume, onEvent, onCheckpoint, (options) => runReward(model, pairs, request.settings, options));
    await this.setAdapter(request.slot ?? REWARD_SLOT, result.adapter);
    return { ...result, truncated };
  }

  async planDpoTraining(request: DpoTrainRequest): Promise<MemoryReport> {
    const model = this.loaded();
    const { pairs } = requestPairs(() => this.requireTokenizer(model), request.data, request.maxLen, false);
    return this.report(model, planDpo(model.config, pairs, request.settings, this.padId(), request.start, this.fits(model)));
  }

  async trainDpo(request: DpoTrainRequest, onEvent?: (event: TrainEvent) => void, onCheckpoint?: (checkpoint: Checkpoint) => void): Promise<TrainResult> {
    const model = this.loaded();
    const { pairs, truncated } = requestPairs(() => this.requireTokenizer(model), request.data, request.maxLen, false);
    const result = await this.train(model, request.resume, onEvent, onCheckpoint, (options) => runDpo(model, pairs, request.settings, { ...options, start: request.start }));
    await this.setAdapter(request.slot ?? POLICY_SLOT, result.adapter);
    return { ...result, truncated };
  }

  async scoreRewards(inputs: ScoreInput[], slot = REWARD_SLOT): Promise<number[]> {
    const model = this.loaded();
    const sequences = inputs.map((s) => ('ids' in s ? s.ids : this.scoredIds(model, s)));
    return [...(await sequenceRewards(model, this.slot(model, slot), model.workspace, sequences))];
  }

  async rerank(request: RerankRequest, onToken?: (event: TokenEvent) => void): Promise<RerankResult> {
    const model = this.loaded();
    const reward = this.slot(model, request.reward ?? REWARD_SLOT);
    const prompts = this.requestPrompts(model, request);
    const result = await this.generate(request, onToken);
    const sequences = result.samples.map((s) => [...prompts[s.prompt], ...s.ids]);
    const rewards = [...(await sequenceRewards(model, reward, model.workspace, sequences))];
    return { ...result, rewards };
  }

  /**
   * Runs a training loop with the engine's part: the memory check against what the model holds, pause, the
   * device check (and its test hook), and a lost GPU turned into GpuLostError naming the checkpoint it resumes from.
   */
  private async train(
    model: LoadedModel,
    resume: Checkpoint | undefined,
    onEvent: ((event: TrainEvent) => void) | undefined,
    onCheckpoint: ((checkpoint: Checkpoint) => void) | undefined,
    run: (options: RunOptions) => Promise<SftResult>,
  ): Promise<SftResult> {
    const { gpu } = await this.context();
    this.pauseRequested = false;
    // Training needs the memory inference held; later calls plan it again.
    model.workspace.destroy();
    let lastCheckpoint = resume?.step ?? 0;
    try {
      return await run({
        baseModel: model.info.label,
        padId: this.padId(),
        resume,
        onEvent: (event) => {
          onEvent?.(event);
          if (event.step === this.destroyAfterStep) {
            this.destroyAfterStep = null;
            model.ctx.device.destroy();
          }
        },
        onCheckpoint: async (checkpoint) => {
          lastCheckpoint = checkpoint.step;
          await onCheckpoint?.(checkpoint);
        },
        shouldPause: () => this.pauseRequested,
        ...this.trainingMemory(),
        checkDevice: () => {
          if (this.lost) throw this.lost.error;
        },
      });
    } catch (error) {
      // A device lost mid-run fails the pending readback (a DOMException) before its lost notice arrives: wait for
      // the notice a moment, and say what happened instead.
      if (!(error instanceof DOMException) && !this.lost) throw error;
      const lost = await Promise.race([gpu.lost, new Promise<null>((resolve) => setTimeout(() => resolve(null), 1000))]);
      if (lost) throw new GpuLostError(lost.reason, lost.detail, lastCheckpoint);
      throw error;
    }
  }

  async pauseTraining(): Promise<void> {
    this.pauseRequested = true;
  }

  /** Test hook (see EngineApi): the next run to finish step `step` destroys the real device after that step, once. */
  async destroyDeviceAfterStep(step: number): Promise<void> {
    this.destroyAfterStep = step;
  }

  async previewExample(row: InstructionRow, format: 'alpaca' | 'chat', trainOnInputs: boolean, maxLen: number): Promise<PreviewToken[]> {
    const model = this.loaded();
    const tokenizer = this.requireTokenizer(model);
    const { example } = (format === 'chat' ? chatExample : alpacaExample)(tokenizer, row, { trainOnInputs, maxLen });
    const texts = tokenTexts(tokenizer, example.inputIds);
    return example.inputIds.map((_, t) => ({ text: texts[t], trained: example.labels[t] !== -100 }));
  }

  /** The base weights with a slot's adapter merged in (W + alpha/r * B @ A), as one f32 safetensors file. */
  async exportMergedWeights(slot = POLICY_SLOT): Promise<Uint8Array> {
    const model = this.loaded();
    const lora = this.slot(model, slot);
    const source = await openModelWeights(model.files);
    const base = new Map<string, Float32Array>();
    const shapes = new Map<string, number[]>();
    for (const { name, shape } of expectedTensors(model.config)) {
      base.set(name, toFloat32(source.tensors.get(name)!.dtype, await source.read(name)));
      shapes.set(name, shape);
    }
    return exportMergedSafetensors(mergeAdapter(base, await lora.download(), model.config.architecture), shapes);
  }

  async exportAdapter(slot = POLICY_SLOT): Promise<PeftFiles> {
    const model = this.loaded();
    return exportPeftAdapter(await this.slot(model, slot).download(), model.config.architecture);
  }

  async modelInfo(): Promise<ModelInfo | null> {
    return this.model?.info ?? null;
  }

  async logits(ids: number[], adapter: string | null = null): Promise<LogitsResult> {
    const model = this.loaded();
    const logits = await sequenceLogits(model, this.maybeSlot(model, adapter), model.workspace, ids);
    return { logits, T: ids.length, V: model.config.vocabSize };
  }

  async generate(request: GenerateRequest, onToken?: (event: TokenEvent) => void): Promise<GenerateResult> {
    const model = this.loaded();
    const prompts = this.requestPrompts(model, request);
    const tokenizer = model.tokenizer;
    this.cancelRequested = false;
    const { samples, stats } = await generate(model, this.maybeSlot(model, request.adapter ?? null), model.workspace, prompts, {
      n: request.n,
      maxNewTokens: request.maxNewTokens,
      sampling: request.sampling,
      stopIds: request.ignoreEos ? [] : [...new Set([...model.config.eosTokenIds, ...(tokenizer?.eosIds ?? [])])],
      stopStrings: request.stop ?? [],
      decode: (ids) => tokenizer?.decode(ids, { skipSpecial: true }) ?? '',
      onToken: onToken && ((sample, id, text) => onToken({ sample, id, text })),
      isCancelled: () => this.cancelRequested,
    });
    const steps = Math.max(stats.decodeSteps, 1);
    return {
      samples,
      promptTokens: stats.promptTokens,
      prefillTokensPerSecond: stats.promptTokens / Math.max(stats.prefillSeconds, 1e-9),
      decodeTokensPerSecond: stats.decodeTokens / Math.max(stats.decodeSeconds, 1e-9),
      dispatchesPerStep: stats.decodeDispatches / steps,
      submitsPerStep: stats.decodeSubmits / steps,
    };
  }

  async cancel(): Promise<void> {
    this.cancelRequested = true;
  }

  async formatPrompt(text: string, input: string, mode: PromptMode): Promise<string> {
    const model = this.loaded();
    return this.requireTokenizer(model).decode(this.promptIds(model, text, input, mode), { skipSpecial: false });
  }

  async encode(text: string): Promise<number[]> {
    const model = this.loaded();
    return this.requireTokenizer(model).encode(text, { addBos: false });
  }

  async decode(ids: number[]): Promise<string> {
    const model = this.loaded();
    return this.requireTokenizer(model).decode(ids, { skipSpecial: false });
  }

  /** The loaded model on the GPU, for the trainer running in the same thread. */
  modelOnGpu(): ModelOnGpu {
    return this.loaded();
  }

  tokenizer(): TextTokenizer | null {
    return this.loaded().tokenizer;
  }

  /** The id that pads training batches: the tokenizer's EOS (padding is masked out of the loss anyway). */
  padId(): number {
    const model = this.loaded();
    return model.tokenizer?.eosIds[0] ?? model.config.eosTokenIds[0] ?? 0;
  }

  /** Releases the model and the GPU device (Node processes exit cleanly only after this). */
  async dispose(): Promise<void> {
    await this.unloadModel();
    this.disposing = true;
    if (this.gpu) (await this.gpu).gpu.device.destroy();
    this.gpu = null;
    this.disposing = false;
  }

  /** A training run's memory check against what the loaded model holds, and the 'auto' checkpointing decision. */
  trainingMemory(): Pick<RunOptions, 'checkMemory' | 'fitsMemory'> {
    const model = this.loaded();
    return {
      checkMemory: (plan, recompute) => this.checkRun(model, plan, 'this training run', trainingMemoryAdvice(recompute)),
      fitsMemory: this.fits(model),
    };
  }

  /** A training run's plan on top of what the model holds, as the UI shows it. */
  private report(model: LoadedModel, run: TrainingPlan): MemoryReport {
    const plan = this.heldPlan(model, run.plan);
    return {
      totalBytes: plan.totalBytes,
      byGroup: plan.byGroup(),
      budgetBytes: model.limits.memoryBudget,
      gradientCheckpointing: { on: run.recompute, activationBytesWith: run.activationBytes.recomputed, activationBytesWithout: run.activationBytes.kept },
    };
  }

  /** Whether a run's plan fits on top of what the model holds. */
  private fits(model: LoadedModel): (run: MemoryPlan) => boolean {
    return (run) => this.heldPlan(model, run).fits(model.limits);
  }

  private requestPrompts(model: LoadedModel, request: GenerateRequest): number[][] {
    return request.prompts.map((p) => ('ids' in p ? p.ids : this.promptIds(model, p.text, p.input ?? '', p.mode)));
  }

  /** A prompt and response as the reward model reads them: the prompt as generation formats it, then the response. */
  private scoredIds(model: LoadedModel, s: Exclude<ScoreInput, { ids: number[] }>): number[] {
    return [...this.promptIds(model, s.text, s.input ?? '', s.mode), ...this.requireTokenizer(model).encode(s.response, { addBos: false })];
  }

  /** Checks a run's plan on top of what the model holds (weights, adapter slots) against the GPU's limits. */
  private checkRun(model: LoadedModel, run: MemoryPlan, what: string, advice: string): void {
    this.heldPlan(model, run).check(model.limits, what, advice);
  }

  /** `run` on top of what the model holds on the GPU: its weights and every adapter slot but `except`. */
  private heldPlan(model: LoadedModel, run: MemoryPlan, except?: string): MemoryPlan {
    const plan = new MemoryPlan().include(model.weightPlan).include(run);
    for (const [slot, lora] of model.slots) if (slot !== except) planLora(plan, model.config, lora.adapter, false);
    return plan;
  }

  private slot(model: LoadedModel, slot: string): GpuLora {
    const lora = model.slots.get(slot);
    if (!lora) throw new NoAdapterError(slot);
    return lora;
  }

  private maybeSlot(model: LoadedModel, slot: string | null): GpuLora | null {
    return slot === null ? null : this.slot(model, slot);
  }

  private promptIds(model: LoadedModel, text: string, input: string, mode: PromptMode): number[] {
    const tokenizer = this.requireTokenizer(model);
    switch (mode) {
      case 'chat':
        return tokenizer.encodeChat([{ role: 'user', content: input ? `${text}\n\n${input}` : text }], { addGenerationPrompt: true });
      case 'alpaca':
        return tokenizer.encode(alpacaPrompt(text, input), { addBos: true });
      case 'raw':
        return tokenizer.encode(text, { addBos: true });
    }
  }

  private requireTokenizer(model: LoadedModel): TextTokenizer {
    if (!model.tokenizer) throw new NoTokenizerError(model.info.label);
    return model.tokenizer;
  }

  private loaded(): LoadedModel {
    if (!this.model) throw this.lost?.error ?? new NoModelError();
    return this.model;
  }

  private context(): Promise<{ gpu: Gpu; ctx: GpuContext }> {
    this.gpu ??= this.options.gpu().then((gpu) => {
      void gpu.lost.then((error) => {
        // The engine's own dispose() is not a loss the user needs to hear about.
        if (this.disposing) return;
        const model = this.model;
        if (model) this.lost = { error, files: model.files, adapters: model.adapters };
        this.model = null;
        this.gpu = null;
      });
      const ctx = new GpuContext(gpu.device, gpu.info.shaderF16);
      for (const { kernel, variant, fault } of this.options.kernelFaults ?? []) matmulChoices(ctx).injectFault(kernel, variant, fault);
      return { gpu, ctx };
    });
    return this.gpu;
  }
}
