// A JobStore in memory, for one-off runs in the CLI (the judge): the job and its rows live as long as the process,
// and the request cache is whatever the caller hands in (a folder of files, so a rerun pays nothing).
import type { ChatResult, JobItem, JobRecord, JobStore } from './types';

export class MemoryJobStore implements JobStore {
  readonly #jobs = new Map<string, JobRecord>();
  readonly #items = new Map<string, JobItem[]>();

  constructor(private readonly cache: Pick<JobStore, 'cacheGet' | 'cachePut'>) {}

  async createJob(job: JobRecord, items: readonly JobItem[]): Promise<void> {
    this.#jobs.set(job.id, structuredClone(job));
    this.#items.set(job.id, items.map((i) => structuredClone(i)));
  }

  async loadJob(id: string): Promise<JobRecord | undefined> {
    const job = this.#jobs.get(id);
    return job && structuredClone(job);
  }

  async saveJob(job: JobRecord): Promise<void> {
    this.#jobs.set(job.id, structuredClone(job));
  }

  async loadItems(jobId: string): Promise<JobItem[]> {
    return (this.#items.get(jobId) ?? []).map((i) => structuredClone(i));
  }

  async saveItem(item: JobItem): Promise<void> {
    const items = this.#items.get(item.jobId);
    if (items) items[item.index] = structuredClone(item);
  }

  cacheGet(key: string): Promise<ChatResult | undefined> {
    return this.cache.cacheGet(key);
  }

  cachePut(key: string, result: ChatResult): Promise<void> {
    return this.cache.cachePut(key, result);
  }
}

/** A request cache that forgets everything when the process ends. */
export class MemoryCache implements Pick<JobStore, 'cacheGet' | 'cachePut'> {
  readonly #entries = new Map<string, ChatResult>();
  async cacheGet(key: string): Promise<ChatResult | undefined> {
    return this.#entries.get(key);
  }
  async cachePut(key: string, result: ChatResult): Promise<void> {
    this.#entries.set(key, result);
  }
}
