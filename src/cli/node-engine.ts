// The engine in-process on Node's WebGPU, with a model folder loaded.
import { Engine } from '../engine/engine';
import type { ModelInfo } from '../engine/api';
import { memoryCache } from '../model/file-cache';
import { dirFiles } from '../model/node-files';
import { nodeGpu } from '../gpu/node';

export function nodeEngine(): Engine {
  return new Engine({ gpu: nodeGpu, hubCache: memoryCache() });
}

export async function engineWithModel(dir: string): Promise<{ engine: Engine; info: ModelInfo }> {
  const engine = nodeEngine();
  const info = await engine.loadFiles(dirFiles(dir));
  return { engine, info };
}
