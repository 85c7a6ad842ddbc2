// The judge's request cache in Node: one JSON file per request key in a folder, written atomically, so an
// interrupted run loses nothing and a rerun sends no request. Files hold the answer only, never the key.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CacheEntry, ChatResult, JobStore } from '../teacher/types';

export class DirCache implements Pick<JobStore, 'cacheGet' | 'cachePut'> {
  constructor(readonly dir: string) {}

  #file(key: string): string {
    // Keys are SHA-256 hex digests; anything else would be a bug, and must not become a path.
    if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`cache key "${key}" is not a SHA-256 digest`);
    return path.join(this.dir, `${key}.json`);
  }

  async cacheGet(key: string): Promise<ChatResult | undefined> {
    try {
      const entry = JSON.parse(await readFile(this.#file(key), 'utf8')) as CacheEntry;
      return entry.result;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      // A torn or hand-edited file: ask again rather than fail the run.
      if (error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  async cachePut(key: string, result: ChatResult): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file = this.#file(key);
    const tmp = `${file}.${process.pid}.tmp`;
    const entry: CacheEntry = { key, result, createdAt: Date.now() };
    await writeFile(tmp, JSON.stringify(entry));
    await rename(tmp, file);
  }
}
