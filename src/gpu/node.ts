// WebGPU in Node through Dawn (the `webgpu` package), for the CLI, tests and benchmarks.
// Without a GPU, point Dawn at SwiftShader: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json.
import { create, globals } from 'webgpu';
import { acquireGpu, type Gpu } from './device';

let gpu: Promise<Gpu> | null = null;

/** The process-wide Node GPU, created on first use. */
export function nodeGpu(): Promise<Gpu> {
  if (!gpu) {
    Object.assign(globalThis, globals);
    gpu = acquireGpu(create([]));
  }
  return gpu;
}
