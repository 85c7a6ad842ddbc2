// The UI's handle on the engine worker: EngineApi over comlink, with callbacks proxied, a crashed worker
// turned into an Error for every pending and next call, and a fresh worker started on the call after a crash.
// The same client is `window.studioEngine` in the browser console (see README: "Console API").
import { proxy, wrap, type Remote } from 'comlink';
import type { InstructionRow } from '../train/data';
import type { Checkpoint, TrainEvent } from '../train/run';
import type { LoraAdapter } from '../model/lora';
import type {
  AdapterSlotInfo,
  EngineApi,
  RerankRequest,
  RerankResult,
  DpoTrainRequest,
  RewardTrainRequest,
  ScoreInput,
  GenerateRequest,
  GenerateResult,
  LoadProgress,
  LogitsResult,
  MemoryReport,
  ModelInfo,
  ModelSource,
  PromptMode,
  TokenEvent,
  TrainRequest,
  TrainResult,
} from './api';
import type { GpuInfo } from '../gpu/device';

export class EngineWorkerCrashedError extends Error {
  override name = 'EngineWorkerCrashedError';
  constructor(detail: string) {
    super(`The engine worker stopped (${detail}). The loaded model is gone: load it again to continue.`);
  }
}

export interface EngineClient extends EngineApi {
  /** Called with the new model (or null) after every load or unload, whoever asked for it (UI or console). */
  onModelChange(listener: (info: ModelInfo | null) => void): () => void;
  /** Stops the worker; the next call starts a fresh one. */
  terminate(): void;
}

interface Connection {
  remote: Remote<EngineApi>;
  /** Rejects when the worker dies or is terminated; every call races against it. */
  closed: Promise<never>;
  close(error: Error): void;
}

export function createEngineClient(
  spawn: () => Worker = () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }),
): EngineClient {
  let connection: Connection | null = null;
  const listeners = new Set<(info: ModelInfo | null) => void>();
  const modelChanged = (info: ModelInfo | null) => {
    for (const listener of listeners) listener(info);
  };

  const connect = (): Connection => {
    if (connection) return connection;
    const worker = spawn();
    let reject!: (error: Error) => void;
    const closed = new Promise<never>((_, r) => (reject = r));
    closed.catch(() => {}); // observed by the calls racing it, if any are pending
    const current: Connection = {
      remote: wrap<EngineApi>(worker),
      closed,
      close(error) {
        if (connection !== current) return;
        connection = null;
        worker.terminate();
        reject(error);
        modelChanged(null);
      },
    };
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      current.close(new EngineWorkerCrashedError(event.message || 'its script failed to load or threw outside a call'));
    });
    worker.addEventListener('messageerror', () =>
      current.close(new EngineWorkerCrashedError('a message from it could not be read')),
    );
    connection = current;
    return current;
  };

  const call = <T>(invoke: (remote: Remote<EngineApi>) => Promise<T>): Promise<T> => {
    const { remote, closed } = connect();
    return Promise.race([invoke(remote), closed]);
  };

  return {
    gpuInfo: (): Promise<GpuInfo> => call((r) => r.gpuInfo()),
    async loadModel(source: ModelSource, onProgress?: (progress: LoadProgress) => void): Promise<ModelInfo> {
      const info = await call((r) => r.loadModel(source, onProgress && proxy(onProgress)));
      modelChanged(info);
      return info;
    },
    async unloadModel(): Promise<void> {
      await call((r) => r.unloadModel());
      modelChanged(null);
    },
    modelInfo: (): Promise<ModelInfo | null> => call((r) => r.modelInfo()),
    logits: (ids: number[], adapter?: string | null): Promise<LogitsResult> => call((r) => r.logits(ids, adapter)),
    generate: (request: GenerateRequest, onToken?: (event: TokenEvent) => void): Promise<GenerateResult> =>
      call((r) => r.generate(request, onToken && proxy(onToken))),
    cancel: (): Promise<void> => call((r) => r.cancel()),
    setAdapter: (slot: string, adapter: LoraAdapter): Promise<void> => call((r) => r.setAdapter(slot, adapter)),
    loadAdapterFiles: (files: File[], slot?: string) => call((r) => r.loadAdapterFiles(files, slot)),
    clearAdapter: (slot?: string): Promise<void> => call((r) => r.clearAdapter(slot)),
    adapterSlots: (): Promise<AdapterSlotInfo[]> => call((r) => r.adapterSlots()),
    planTraining: (request: TrainRequest): Promise<MemoryReport> => call((r) => r.planTraining(request)),
    trainSft: (request: TrainRequest, onEvent?: (event: TrainEvent) => void, onCheckpoint?: (checkpoint: Checkpoint) => void): Promise<TrainResult> =>
      call((r) => r.trainSft(request, onEvent && proxy(onEvent), onCheckpoint && proxy(onCheckpoint))),
    pauseTraining: (): Promise<void> => call((r) => r.pauseTraining()),
    destroyDeviceAfterStep: (step: number): Promise<void> => call((r) => r.destroyDeviceAfterStep(step)),
    planRewardTraining: (request: RewardTrainRequest): Promise<MemoryReport> => call((r) => r.planRewardTraining(request)),
    planDpoTraining: (request: DpoTrainRequest): Promise<MemoryReport> => call((r) => r.planDpoTraining(request)),
    trainDpo: (request: DpoTrainRequest, onEvent?: (event: TrainEvent) => void, onCheckpoint?: (checkpoint: Checkpoint) => void): Promise<TrainResult> =>
      call((r) => r.trainDpo(request, onEvent && proxy(onEvent), onCheckpoint && proxy(onCheckpoint))),
    trainReward: (request: RewardTrainRequest, onEvent?: (event: TrainEvent) => void, onCheckpoint?: (checkpoint: Checkpoint) => void): Promise<TrainResult> =>
      call((r) => r.trainReward(request, onEvent && proxy(onEvent), onCheckpoint && proxy(onCheckpoint))),
    scoreRewards: (inputs: ScoreInput[], slot?: string): Promise<number[]> => call((r) => r.scoreRewards(inputs, slot)),
    rerank: (request: RerankRequest, onToken?: (event: TokenEvent) => void): Promise<RerankResult> =>
      call((r) => r.rerank(request, onToken && proxy(onToken))),
    async recover(onProgress?: (progress: LoadProgress) => void): Promise<ModelInfo> {
      const info = await call((r) => r.recover(onProgress && proxy(onProgress)));
      modelChanged(info);
      return info;
    },
    selftest: () => call((r) => r.selftest()),
    previewExample: (row: InstructionRow, format: 'alpaca' | 'chat', trainOnInputs: boolean, maxLen: number) =>
      call((r) => r.previewExample(row, format, trainOnInputs, maxLen)),
    exportAdapter: (slot?: string) => call((r) => r.exportAdapter(slot)),
    exportMergedWeights: (slot?: string): Promise<Uint8Array> => call((r) => r.exportMergedWeights(slot)),
    formatPrompt: (text: string, input: string, mode: PromptMode): Promise<string> =>
      call((r) => r.formatPrompt(text, input, mode)),
    encode: (text: string): Promise<number[]> => call((r) => r.encode(text)),
    decode: (ids: number[]): Promise<string> => call((r) => r.decode(ids)),
    onModelChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    terminate() {
      connection?.close(new Error('The engine was stopped; the next call starts it again (load the model again first).'));
    },
  };
}

declare global {
  interface Window {
    /**
     * The studio's engine for the browser console, the same one the UI uses, e.g.
     *   await studioEngine.loadModel({ kind: 'hub', id: 'HuggingFaceTB/SmolLM2-135M-Instruct' }, console.log)
     *   await studioEngine.logits([1, 2, 3])        // { logits: Float32Array(T * V), T, V }
     *   await studioEngine.generate({ prompts: [{ text: 'Hi', mode: 'chat' }], n: 2, maxNewTokens: 32,
     *     sampling: { temperature: 0.8, topK: 0, topP: 0.95, seed: 1 } }, (e) => console.log(e.sample, e.text))
     */
    studioEngine: EngineClient;
  }
}

/** Makes the client available as `window.studioEngine` for power users, workshops and the browser tests. */
export function exposeOnWindow(client: EngineClient): void {
  window.studioEngine = client;
}
