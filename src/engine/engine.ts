// The engine behind EngineApi: one GPU, at most one loaded model. The worker exposes it to the UI with comlink;
// the CLI, tests and benchmarks use it in-process on Node's WebGPU.
import { GpuContext } from '../gpu/context';
import type { Gpu } from '../gpu/device';
import type { GpuLostError } from '../gpu/errors';
import { loadConfig } from '../model/config';
import { browserFiles, readBytes, readText, type ModelFiles } from '../model/files';
import type { FileCache } from '../model/file-cache';
import { generate, sequenceLogits, type ModelOnGpu } from '../model/generate';
import { hubFiles } from '../model/hub';
import { openModelWeights, toFloat32 } from '../model/safetensors';
import { destroyWeights, expectedTensors, uploadWeights } from '../model/weights';
import { GpuLora, type LoraAdapter } from '../model/lora';
import { alpacaExample, chatExample, type InstructionRow, type TrainExample } from '../train/data';
import { exportMergedSafetensors, exportPeftAdapter, importPeftAdapter, mergeAdapter, type PeftFiles } from '../train/peft';
import { runSft, type Checkpoint, type TrainEvent } from '../train/run';
import { alpacaPrompt } from '../tokenizer/templates';
import { loadTokenizer, tokenTexts, type TextTokenizer } from '../tokenizer/tokenizer';
import type {
  EngineApi,
  GenerateRequest,
  GenerateResult,
  LoadProgress,
  LogitsResult,
  ModelInfo,
  ModelSource,
  PromptMode,
  TokenEvent,
  PreviewToken,
  TrainRequest,
  TrainResult,
} from './api';

export interface EngineOptions {
  gpu: () => Promise<Gpu>;
  /** Where Hub downloads are kept so a second load needs no network. */
  hubCache: FileCache;
}

interface LoadedModel extends ModelOnGpu {
  info: ModelInfo;
  tokenizer: TextTokenizer | null;
  /** Where the weights came from, read again only to export merged weights. */
  files: ModelFiles;
}

export class NoModelError extends Error {
  override name = 'NoModelError';
  constructor() {
    super('No model is loaded. Load one from the Hub or from local files first.');
  }
}

export class NoTokenizerError extends Error {
  override name = 'NoTokenizerError';
  constructor(label: string) {
    super(`${label} has no tokenizer.json, so it takes token ids only. Enter the prompt as comma-separated ids.`);
  }
}

export class Engine implements EngineApi {
  private gpu: Promise<{ gpu: Gpu; ctx: GpuContext }> | null = null;
  private model: LoadedModel | null = null;
  private lostError: GpuLostError | null = null;
  private cancelRequested = false;
  private pauseRequested = false;

  constructor(private readonly options: EngineOptions) {}

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
    const tokenizer = await loadTokenizer(files);
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
    };
    this.model = { ctx, config, weights, tokenizer, info, lora: null, files };
    this.lostError = null;
    return info;
  }

  async unloadModel(): Promise<void> {
    if (this.model) {
      destroyWeights(this.model.weights);
      this.model.lora?.destroy();
    }
    this.model = null;
  }

  /** Applies a LoRA adapter to every later logits/generate call (null removes it). */
  async setAdapter(adapter: LoraAdapter | null): Promise<void> {
    const model = this.loaded();
    const next = adapter && GpuLora.upload(model.ctx, adapter);
    model.lora?.destroy();
    model.lora = next;
  }

  /** Reads a PEFT adapter (adapter_config.json + adapter_model.safetensors) and applies it. */
  async loadAdapterFiles(files: File[]): Promise<{ rank: number; alpha: number; targets: string[] }> {
    const model = this.loaded();
    const source = browserFiles(files, 'adapter files');
    const adapter = importPeftAdapter(await readText(source, 'adapter_config.json'), await readBytes(source, 'adapter_model.safetensors'), model.config);
    await this.setAdapter(adapter);
    return { rank: adapter.rank, alpha: adapter.alpha, targets: adapter.targets };
  }

  async clearAdapter(): Promise<void> {
    await this.setAdapter(null);
  }

  async trainSft(request: TrainRequest, onEvent?: (event: TrainEvent) => void, onCheckpoint?: (checkpoint: Checkpoint) => void): Promise<TrainResult> {
    const model = this.loaded();
    let truncated = 0;
    let examples: TrainExample[];
    if ('examples' in request.data) {
      examples = request.data.examples;
    } else {
      const tokenizer = this.requireTokenizer(model);
      const make = request.data.format === 'chat' ? chatExample : alpacaExample;
      examples = request.data.rows.map((row) => {
        const made = make(tokenizer, row, { maxLen: request.maxLen, trainOnInputs: request.trainOnInputs });
        if (made.truncated) truncated++;
        return made.example;
      });
    }
    this.pauseRequested = false;
    // Training runs on the frozen base weights: any applied adapter is set aside for the run.
    const base = { ...model, lora: null };
    const result = await runSft(base, examples, request.settings, {
      baseModel: model.info.label,
      padId: this.padId(),
      resume: request.resume,
      onEvent,
      onCheckpoint,
      shouldPause: () => this.pauseRequested,
    });
    await this.setAdapter(result.adapter);
    return { ...result, truncated };
  }

  async pauseTraining(): Promise<void> {
    this.pauseRequested = true;
  }

  async previewExample(row: InstructionRow, format: 'alpaca' | 'chat', trainOnInputs: boolean, maxLen: number): Promise<PreviewToken[]> {
    const model = this.loaded();
    const tokenizer = this.requireTokenizer(model);
    const { example } = (format === 'chat' ? chatExample : alpacaExample)(tokenizer, row, { trainOnInputs, maxLen });
    const texts = tokenTexts(tokenizer, example.inputIds);
    return example.inputIds.map((_, t) => ({ text: texts[t], trained: example.labels[t] !== -100 }));
  }

  /** The base weights with the applied adapter merged in (W + alpha/r * B @ A), as one f32 safetensors file. */
  async exportMergedWeights(): Promise<Uint8Array> {
    const model = this.loaded();
    if (!model.lora) throw new Error('No adapter is applied: train one or load a PEFT adapter first.');
    const source = await openModelWeights(model.files);
    const base = new Map<string, Float32Array>();
    const shapes = new Map<string, number[]>();
    for (const { name, shape } of expectedTensors(model.config)) {
      base.set(name, toFloat32(source.tensors.get(name)!.dtype, await source.read(name)));
      shapes.set(name, shape);
    }
    return exportMergedSafetensors(mergeAdapter(base, await model.lora.download()), shapes);
  }

  async exportAdapter(): Promise<PeftFiles> {
    const lora = this.loaded().lora;
    if (!lora) throw new Error('No adapter is applied: train one or load a PEFT adapter first.');
    return exportPeftAdapter(await lora.download());
  }

  async modelInfo(): Promise<ModelInfo | null> {
    return this.model?.info ?? null;
  }

  async logits(ids: number[]): Promise<LogitsResult> {
    const model = this.loaded();
    const logits = await sequenceLogits(model, ids);
    return { logits, T: ids.length, V: model.config.vocabSize };
  }

  async generate(request: GenerateRequest, onToken?: (event: TokenEvent) => void): Promise<GenerateResult> {
    const model = this.loaded();
    const prompts = request.prompts.map((p) => ('ids' in p ? p.ids : this.promptIds(model, p.text, p.input ?? '', p.mode)));
    const tokenizer = model.tokenizer;
    this.cancelRequested = false;
    const { samples, stats } = await generate(model, prompts, {
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
    if (this.gpu) (await this.gpu).gpu.device.destroy();
    this.gpu = null;
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
    if (!this.model) throw this.lostError ?? new NoModelError();
    return this.model;
  }

  private context(): Promise<{ gpu: Gpu; ctx: GpuContext }> {
    this.gpu ??= this.options.gpu().then((gpu) => {
      void gpu.lost.then((error) => {
        // A destroyed device (dispose) is not a loss the user needs to hear about.
        if (error.reason === 'destroyed') return;
        this.lostError = error;
        this.model = null;
        this.gpu = null;
      });
      return { gpu, ctx: new GpuContext(gpu.device, gpu.info.shaderF16) };
    });
    return this.gpu;
  }
}
