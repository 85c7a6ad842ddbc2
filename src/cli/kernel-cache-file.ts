// The kernel checks and tuned choices of Node engines, kept in one JSON file so the CLI, the tests and the bench
// check and tune each adapter and model shape once: $INSTRUCT_STUDIO_KERNEL_CACHE, else
// $XDG_CACHE_HOME/instruct-studio/kernels.json, else ~/.cache/instruct-studio/kernels.json.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { KernelCache } from '../engine/kernel-setup';

export function defaultKernelCachePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.INSTRUCT_STUDIO_KERNEL_CACHE) return env.INSTRUCT_STUDIO_KERNEL_CACHE;
  return path.join(env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'instruct-studio', 'kernels.json');
}

/** A cache in the JSON file `file`; an unreadable or corrupt file reads as empty and is rewritten. */
export function fileKernelCache(file = defaultKernelCachePath()): KernelCache {
  const read = (): Record<string, unknown> => {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  };
  return {
    get: async (key) => read()[key],
    async set(key, value) {
      mkdirSync(path.dirname(file), { recursive: true });
      // Written beside the file and renamed over it, so a reader in another process never sees half a file.
      const next = `${file}.${process.pid}.tmp`;
      writeFileSync(next, JSON.stringify({ ...read(), [key]: value }));
      renameSync(next, file);
    },
  };
}
