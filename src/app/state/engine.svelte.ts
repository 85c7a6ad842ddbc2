// What the UI knows about the engine: the GPU, the loaded model, a load in progress and its outcome.
// Every page shares one EngineState (set in App.svelte), so a model loaded on one page is there on the next.
import { getContext, setContext } from 'svelte';
import type { LoadProgress, ModelInfo, ModelSource } from '../../engine/api';
import type { EngineClient } from '../../engine/client';
import type { KernelCheck } from '../../engine/kernel-checks';
import type { ModelRef } from '../../data/runs';
import type { GpuInfo } from '../../gpu/device';
import { opfsModelFolders, type KeptFolder, type ModelFolders } from '../../model/file-cache';
import { messageOf } from '../lib/message';

export const defaultHubId = 'HuggingFaceTB/SmolLM2-135M-Instruct';
export const defaultHubEndpoint = 'https://huggingface.co';

/** Where the bytes of the last load came from, shown under the model card. */
export interface LoadSummary {
  label: string;
  source: ModelSource['kind'];
  cachedBytes: number;
  downloadedBytes: number;
  seconds: number;
}

const settingKeys = { hubId: 'studio.hub.id', endpoint: 'studio.hub.endpoint' } as const;

export class EngineState {
  gpu = $state.raw<GpuInfo | null>(null);
  gpuError = $state<string | null>(null);
  model = $state.raw<ModelInfo | null>(null);
  loading = $state(false);
  /** The latest progress event of the load in progress. */
  progress = $state.raw<LoadProgress | null>(null);
  loadError = $state<string | null>(null);
  lastLoad = $state.raw<LoadSummary | null>(null);
  /** The adapter slot the UI generates with (Playground, answer sets), or null for the base model. */
  adapterSlot = $state<string | null>(null);
  hubId = $state(defaultHubId);
  endpoint = $state(defaultHubEndpoint);
  /** Where the loaded model came from, when it can be loaded again without asking (null: picked files not kept). */
  loadedFrom = $state.raw<ModelRef | null>(null);
  /** Local model folders kept in the browser, newest first. */
  keptFolders = $state.raw<KeptFolder[]>([]);
  keptError = $state<string | null>(null);
  /** The latest self-test: every kernel check run now on this GPU. */
  selftest = $state.raw<KernelCheck[] | null>(null);
  selftestRunning = $state(false);
  selftestError = $state<string | null>(null);

  constructor(
    readonly engine: EngineClient,
    private readonly settings: Pick<Storage, 'getItem' | 'setItem'> | null = null,
    private readonly folders: ModelFolders | null = typeof navigator !== 'undefined' && typeof navigator.storage?.getDirectory === 'function' ? opfsModelFolders() : null,
  ) {
    this.hubId = settings?.getItem(settingKeys.hubId) ?? defaultHubId;
    this.endpoint = settings?.getItem(settingKeys.endpoint) ?? defaultHubEndpoint;
    // Loads from the console (window.studioEngine) show up here too.
    engine.onModelChange((info) => {
      // A newly loaded model starts without adapters (after a lost GPU, recover() brings back the same ones).
      if (info?.label !== this.model?.label) this.adapterSlot = null;
      this.model = info;
    });
  }

  private initialized: Promise<void> | null = null;

  /** Runs every kernel check on this GPU now (not from the cache), for the GPU panel. */
  async runSelftest(): Promise<void> {
    if (this.selftestRunning) return;
    this.selftestRunning = true;
    this.selftestError = null;
    try {
      this.selftest = await this.engine.selftest();
    } catch (error) {
      this.selftestError = messageOf(error);
    } finally {
      this.selftestRunning = false;
    }
  }

  /** Asks the worker for the GPU and any model it already holds; once, by the first page that shows them. */
  init(): Promise<void> {
    this.initialized ??= this.query();
    return this.initialized;
  }

  private async query(): Promise<void> {
    void this.refreshKept();
    try {
      this.gpu = await this.engine.gpuInfo();
      this.gpuError = null;
    } catch (error) {
      this.gpuError = messageOf(error);
    }
    this.model = await this.engine.modelInfo().catch(() => null);
  }

  loadFromHub(): Promise<void> {
    const id = this.hubId.trim();
    const endpoint = this.endpoint.trim().replace(/\/+$/, '');
    if (!id) {
      this.loadError = 'Enter a model id such as HuggingFaceTB/SmolLM2-135M-Instruct.';
      return Promise.resolve();
    }
    this.settings?.setItem(settingKeys.hubId, id);
    this.settings?.setItem(settingKeys.endpoint, endpoint);
    return this.load({ kind: 'hub', id, endpoint: endpoint || undefined }, async () => ({ kind: 'hub', id, endpoint: endpoint || undefined }));
  }

  /** Loads picked files, then keeps the model's files in the browser so a reload can load them again. */
  loadFromFiles(files: File[]): Promise<void> {
    if (!files.length) {
      this.loadError = 'No files were picked. Pick config.json and the .safetensors files (and tokenizer.json if there is one).';
      return Promise.resolve();
    }
    // A picked folder's files carry its path ("stories260K/config.json").
    const name = files[0].webkitRelativePath.split('/')[0] || 'local files';
    return this.load({ kind: 'files', files }, () => this.keep(files, name));
  }

  /** Loads a local model folder kept in the browser. */
  async loadKept(key: string): Promise<void> {
    const folder = this.keptFolders.find((f) => f.key === key);
    try {
      if (!this.folders) throw new Error('This browser cannot keep model folders (no origin private file system).');
      const files = await this.folders.open(key);
      await this.load({ kind: 'files', files }, async () => ({ kind: 'kept', key, name: folder?.name ?? 'local files' }));
    } catch (error) {
      this.loadError = messageOf(error);
    }
  }

  /** Loads a model again from where it came from (a run's model after a reload). */
  loadRef(ref: ModelRef): Promise<void> {
    if (ref.kind === 'kept') return this.loadKept(ref.key);
    this.hubId = ref.id;
    this.endpoint = ref.endpoint ?? defaultHubEndpoint;
    return this.loadFromHub();
  }

  /** Deletes a kept folder from the browser's storage (a model loaded from it stays loaded). */
  async forgetKept(key: string): Promise<void> {
    try {
      await this.folders?.forget(key);
      if (this.loadedFrom?.kind === 'kept' && this.loadedFrom.key === key) this.loadedFrom = null;
    } catch (error) {
      this.keptError = messageOf(error);
    }
    await this.refreshKept();
  }

  async refreshKept(): Promise<void> {
    if (!this.folders) return;
    try {
      this.keptFolders = await this.folders.list();
      this.keptError = null;
    } catch (error) {
      this.keptError = messageOf(error);
    }
  }

  /** Copies a loaded model's files into the browser's storage; a failure (storage full) leaves the model loaded, not kept. */
  private async keep(files: File[], name: string): Promise<ModelRef | null> {
    if (!this.folders) return null;
    try {
      this.progress = { stage: 'keeping a copy in the browser', loadedBytes: 0, totalBytes: 0 };
      const folder = await this.folders.keep(files, name);
      await this.refreshKept();
      return { kind: 'kept', key: folder.key, name: folder.name };
    } catch (error) {
      this.keptError = `The model is loaded but could not be kept in the browser, so a reload will ask for its files again: ${messageOf(error)}`;
      return null;
    }
  }

  /** Loads `source`; once loaded, `from` says (and may first arrange) where it can be loaded again from. */
  private async load(source: ModelSource, from: () => Promise<ModelRef | null>): Promise<void> {
    if (this.loading) return;
    this.loading = true;
    this.loadError = null;
    this.progress = null;
    // Bytes per file stage, split by where they came from; the GPU upload stage carries no fromCache flag.
    const stages = new Map<string, { bytes: number; fromCache: boolean }>();
    const started = performance.now();
    try {
      const info = await this.engine.loadModel(source, (progress) => {
        this.progress = progress;
        if (progress.fromCache !== undefined) {
          stages.set(progress.stage, { bytes: progress.loadedBytes, fromCache: progress.fromCache });
        }
      });
      const sum = (fromCache: boolean) =>
        [...stages.values()].filter((s) => s.fromCache === fromCache).reduce((a, s) => a + s.bytes, 0);
      this.model = info;
      this.lastLoad = {
        label: info.label,
        source: source.kind,
        cachedBytes: sum(true),
        downloadedBytes: sum(false),
        seconds: (performance.now() - started) / 1000,
      };
      this.loadedFrom = await from();
    } catch (error) {
      this.loadError = messageOf(error);
    } finally {
      this.loading = false;
      this.progress = null;
    }
  }
}

const key = Symbol('engine-state');

export function setEngineState(state: EngineState): EngineState {
  return setContext(key, state);
}

export function useEngineState(): EngineState {
  return getContext<EngineState>(key);
}
