// The browser's JobStore: jobs, their rows and the request cache in StudioDB.
import type { IDBPDatabase } from 'idb';
import { rangeOf, type StudioDB } from '../data/db';
import { commit } from '../data/store';
import type { ChatResult, JobItem, JobRecord, JobStore } from './types';

export class IdbJobStore implements JobStore {
  constructor(readonly db: IDBPDatabase<StudioDB>) {}

  async createJob(job: JobRecord, items: readonly JobItem[]): Promise<void> {
    const tx = this.db.transaction(['jobs', 'jobItems'], 'readwrite');
    const store = tx.objectStore('jobItems');
    await commit(tx, function* () {
      for (const item of items) yield store.put(item);
      yield tx.objectStore('jobs').put(job);
    });
  }

  async loadJob(id: string): Promise<JobRecord | undefined> {
    return this.db.get('jobs', id);
  }

  async saveJob(job: JobRecord): Promise<void> {
    await this.db.put('jobs', job);
  }

  async loadItems(jobId: string): Promise<JobItem[]> {
    return this.db.getAll('jobItems', rangeOf(jobId));
  }

  async saveItem(item: JobItem): Promise<void> {
    await this.db.put('jobItems', item);
  }

  async cacheGet(key: string): Promise<ChatResult | undefined> {
    return (await this.db.get('requestCache', key))?.result;
  }

  async cachePut(key: string, result: ChatResult): Promise<void> {
    await this.db.put('requestCache', { key, result, createdAt: Date.now() });
  }

  /** Every job, newest first. */
  async listJobs(): Promise<JobRecord[]> {
    return (await this.db.getAllFromIndex('jobs', 'byCreated')).reverse();
  }

  /** Deletes a job and its rows; cached answers stay, so recreating the job costs nothing. */
  async deleteJob(id: string): Promise<void> {
    const tx = this.db.transaction(['jobs', 'jobItems'], 'readwrite');
    await commit(tx, function* () {
      yield tx.objectStore('jobItems').delete(rangeOf(id));
      yield tx.objectStore('jobs').delete(id);
    });
  }
}
