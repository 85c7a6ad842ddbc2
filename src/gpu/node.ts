// WebGPU in Node through Dawn (the `webgpu` package), for the CLI, tests and benchmarks.
// Without a GPU, point Dawn at SwiftShader: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json.
import { existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { acquireGpu, type Gpu } from './device';
import { GpuUnavailableError, VulkanDriverMissingError, VulkanLoaderMissingError } from './errors';

// The Dawn instance must stay referenced for the life of the process: once it is garbage-collected its
// devices crash the process from native threads (segfaults, futex and mutex assertion failures).
let instance: GPU | null = null;
let gpu: Promise<Gpu> | null = null;

/** The process-wide Node GPU, created on first use, and again after its device is lost. */
export function nodeGpu(): Promise<Gpu> {
  if (!gpu) {
    const started = startDawn();
    gpu = started;
    void started.then((g) => g.lost.then(() => gpu === started && (gpu = null)), () => gpu === started && (gpu = null));
  }
  return gpu;
}

async function startDawn(): Promise<Gpu> {
  if (process.platform === 'linux') ensureRuntimeDir(process.env);
  // Loaded only now, so the environment above is in place before Dawn's native code reads it.
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  instance ??= create([]);
  try {
    return await acquireGpu(instance);
  } catch (error) {
    if (error instanceof GpuUnavailableError && process.platform === 'linux') throw diagnoseNoAdapter(vulkanLoaderDirs());
    throw error;
  }
}

/**
 * Gives the process a valid XDG_RUNTIME_DIR when it has none (sudo, cron, CI, `ssh host cmd`) or an invalid one.
 * Mesa's Vulkan device-select layer connects to Wayland while Dawn starts, and libwayland prints "XDG_RUNTIME_DIR
 * is invalid or not set in the environment" to stderr otherwise. Valid, as the XDG base directory spec says: an
 * absolute path to a directory the user owns that only the user may access. The replacement is one private
 * directory per user in the temporary directory, kept between runs as Qt's /tmp/runtime-$USER is (nothing is
 * written into it); a fresh one if another user holds that name.
 */
export function ensureRuntimeDir(env: NodeJS.ProcessEnv): void {
  if (isValidRuntimeDir(env.XDG_RUNTIME_DIR)) return;
  const own = path.join(tmpdir(), `instruct-studio-runtime-${process.getuid?.() ?? 'user'}`);
  mkdirSync(own, { recursive: true, mode: 0o700 }); // no error when it exists
  env.XDG_RUNTIME_DIR = isValidRuntimeDir(own) ? own : mkdtempSync(path.join(tmpdir(), 'instruct-studio-runtime-'));
}

function isValidRuntimeDir(dir: string | undefined): boolean {
  if (!dir || !path.isAbsolute(dir)) return false;
  try {
    const stat = statSync(dir);
    return stat.isDirectory() && stat.uid === process.getuid?.() && (stat.mode & 0o077) === 0;
  } catch {
    return false;
  }
}

/** Where the dynamic linker finds libraries: LD_LIBRARY_PATH, then the usual system directories. */
function vulkanLoaderDirs(): string[] {
  const triplet = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  const fromEnv = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  return [...fromEnv, `/lib/${triplet}`, `/usr/lib/${triplet}`, '/lib64', '/usr/lib64', '/lib', '/usr/lib', '/usr/local/lib'];
}

/**
 * Why Dawn found no adapter on Linux: without the Vulkan loader (libvulkan.so.1 in none of `dirs`) Dawn cannot
 * reach any GPU; with it, no Vulkan driver answered.
 */
export function diagnoseNoAdapter(dirs: string[]): VulkanLoaderMissingError | VulkanDriverMissingError {
  return dirs.some((dir) => existsSync(path.join(dir, 'libvulkan.so.1'))) ? new VulkanDriverMissingError() : new VulkanLoaderMissingError(dirs);
}
