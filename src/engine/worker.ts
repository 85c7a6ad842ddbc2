// The engine's Web Worker: the UI thread stays free for UI work while kernels and downloads run here.
import { expose, transfer } from 'comlink';
import { acquireGpu } from '../gpu/device';
import { cacheStorageCache } from '../model/file-cache';
import type { LogitsResult } from './api';
import { Engine } from './engine';
import { indexedDbKernelCache } from './kernel-cache-idb';

class WorkerEngine extends Engine {
  /** Logits move to the UI thread instead of being copied. */
  override async logits(ids: number[]): Promise<LogitsResult> {
    const result = await super.logits(ids);
    return transfer(result, [result.logits.buffer]);
  }
}

expose(new WorkerEngine({ gpu: () => acquireGpu(navigator.gpu), hubCache: cacheStorageCache(), kernelCache: indexedDbKernelCache() }));
