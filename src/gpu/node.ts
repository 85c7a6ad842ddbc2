// WebGPU in Node through Dawn (the `webgpu` package), for the CLI, tests and benchmarks.
// Without a GPU, point Dawn at SwiftShader: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json.
import { create, globals } from 'webgpu';
import { acquireGpu, type Gpu } from './device';

// The Dawn instance must stay referenced for the life of the process: once it is garbage-collected its
// devices crash the process from native threads (segfaults, futex and mutex assertion failures).
let instance: GPU | null = null;
let gpu: Promise<Gpu> | null = null;

/** The process-wide Node GPU, created on first use. */
export function nodeGpu(): Promise<Gpu> {
  if (!gpu) {
    Object.assign(globalThis, globals);
    instance = create([]);
    gpu = acquireGpu(instance);
  }
  return gpu;
}
