// The browser's kernel cache: checks and tuned choices in StudioDB's settings store, under keys that name this
// device's adapter. The worker opens its own connection; project bundles leave these keys out (they describe
// this machine's GPU, not the project).
import { openStudioDB } from '../data/db';
import { KERNEL_SETTING_PREFIX } from '../data/settings';
import type { KernelCache } from './kernel-setup';

/** A cache that never fails a model load: storage errors read as a miss and skip the write. */
export function indexedDbKernelCache(dbName?: string): KernelCache {
  let db: ReturnType<typeof openStudioDB> | null = null;
  const open = () => (db ??= openStudioDB(dbName));
  return {
    async get(key) {
      try {
        return await (await open()).get('settings', `${KERNEL_SETTING_PREFIX}${key}`);
      } catch {
        db = null;
        return undefined;
      }
    },
    async set(key, value) {
      try {
        await (await open()).put('settings', value, `${KERNEL_SETTING_PREFIX}${key}`);
      } catch {
        db = null;
      }
    },
  };
}
