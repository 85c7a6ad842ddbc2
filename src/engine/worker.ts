// The engine's Web Worker: the UI thread stays free for UI work while kernels and downloads run here.
import { expose } from 'comlink';
import { acquireGpu } from '../gpu/device';
import { cacheStorageCache } from '../model/file-cache';
import { Engine } from './engine';

expose(new Engine({ gpu: () => acquireGpu(navigator.gpu), hubCache: cacheStorageCache() }));
