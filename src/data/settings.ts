// Small settings in StudioDB's settings store, typed by key. They stay on this device: nothing here is ever
// part of an export.
import type { IDBPDatabase } from 'idb';
import type { StudioDB } from './db';

export class SettingsStore {
  constructor(readonly db: IDBPDatabase<StudioDB>) {}

  async get<T>(key: string): Promise<T | undefined> {
    return (await this.db.get('settings', key)) as T | undefined;
  }

  async set(key: string, value: unknown): Promise<void> {
    await this.db.put('settings', value, key);
  }

  async delete(key: string): Promise<void> {
    await this.db.delete('settings', key);
  }
}

/** Settings under this prefix are the engine's kernel checks and choices for this device's GPU: bundles leave them out. */
export const KERNEL_SETTING_PREFIX = 'kernels:';
