// The engine in-process on Node's WebGPU, with a model folder (and optionally a PEFT adapter folder) loaded.
import { Engine } from '../engine/engine';
import type { ModelInfo } from '../engine/api';
import { memoryCache } from '../model/file-cache';
import { readBytes, readText } from '../model/files';
import { dirFiles } from '../model/node-files';
import { nodeGpu } from '../gpu/node';
import type { LoraAdapter } from '../model/lora';
import { importPeftAdapter } from '../train/peft';

export function nodeEngine(): Engine {
  return new Engine({ gpu: nodeGpu, hubCache: memoryCache() });
}

export async function engineWithModel(dir: string, adapterDir?: string): Promise<{ engine: Engine; info: ModelInfo }> {
  const engine = nodeEngine();
  const info = await engine.loadFiles(dirFiles(dir));
  if (adapterDir) await engine.setAdapter(await readAdapterDir(adapterDir, engine));
  return { engine, info };
}

/** A PEFT adapter folder (adapter_config.json + adapter_model.safetensors) checked against the loaded model. */
export async function readAdapterDir(dir: string, engine: Engine): Promise<LoraAdapter> {
  const files = dirFiles(dir);
  return importPeftAdapter(await readText(files, 'adapter_config.json'), await readBytes(files, 'adapter_model.safetensors'), engine.modelOnGpu().config);
}
