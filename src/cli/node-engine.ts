// The engine in-process on Node's WebGPU, with a model folder (and optionally a PEFT adapter folder) loaded.
import { POLICY_SLOT } from '../engine/api';
import { Engine } from '../engine/engine';
import { parseKernelPins, type KernelPins } from '../engine/kernel-setup';
import { fileKernelCache } from './kernel-cache-file';
import type { ModelInfo } from '../engine/api';
import { memoryCache } from '../model/file-cache';
import { readBytes, readText } from '../model/files';
import { dirFiles } from '../model/node-files';
import { nodeGpu } from '../gpu/node';
import type { LoraAdapter } from '../model/lora';
import { importPeftAdapter } from '../train/peft';

/**
 * The Node engine. Kernel variants are tuned once per adapter and model shape and cached in a file, unless pinned
 * by `kernelPins` or INSTRUCT_STUDIO_KERNEL_PINS (`kernel=variant,...`).
 */
export function nodeEngine(kernelPins: KernelPins = parseKernelPins(process.env.INSTRUCT_STUDIO_KERNEL_PINS)): Engine {
  return new Engine({ gpu: nodeGpu, hubCache: memoryCache(), kernelCache: fileKernelCache(), kernelPins });
}

/** The model of `dir`, and the adapter of `adapterDir` in the policy slot (`adapter` names it, null without one). */
export async function engineWithModel(dir: string, adapterDir?: string): Promise<{ engine: Engine; info: ModelInfo; adapter: string | null }> {
  const engine = nodeEngine();
  const info = await engine.loadFiles(dirFiles(dir));
  if (!adapterDir) return { engine, info, adapter: null };
  await engine.setAdapter(POLICY_SLOT, await readAdapterDir(adapterDir, engine));
  return { engine, info, adapter: POLICY_SLOT };
}

/** A PEFT adapter folder (adapter_config.json + adapter_model.safetensors) checked against the loaded model. */
export async function readAdapterDir(dir: string, engine: Engine): Promise<LoraAdapter> {
  const files = dirFiles(dir);
  return importPeftAdapter(await readText(files, 'adapter_config.json'), await readBytes(files, 'adapter_model.safetensors'), engine.modelOnGpu().config);
}
