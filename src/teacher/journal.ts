// The CLI's JobStore: an append-only JSONL journal. Every change is one line written with a synchronous
// append before the promise resolves, so a process killed at any moment keeps everything it acknowledged;
// replaying the file (last line per job, row and cache key wins) restores the state. A line cut off by the
// kill is dropped on open. The key is never written: it is not part of a job.
import { appendFileSync, existsSync, readFileSync, truncateSync } from 'node:fs';
import type { ChatResult, JobItem, JobRecord, JobStore } from './types';

type Entry =
  | { t: 'job'; job: JobRecord }
  | { t: 'item'; item: JobItem }
  | { t: 'cache'; key: string; result: ChatResult };

export class JournalStore implements JobStore {
  readonly #jobs = new Map<string, JobRecord>();
  readonly #items = new Map<string, JobItem[]>();
  readonly #cache = new Map<string, ChatResult>();

  private constructor(readonly path: string) {}

  /** Opens (or starts) a journal, dropping a torn last line left by a kill mid-write. */
  static open(path: string): JournalStore {
    const store = new JournalStore(path);
    if (!existsSync(path)) return store;
    let text = readFileSync(path, 'utf8');
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) {
      truncateSync(path, Buffer.byteLength(text.slice(0, end)));
      text = text.slice(0, end);
    }
    let lineNo = 0;
    for (const line of text.split('\n')) {
      lineNo++;
      if (!line) continue;
      let entry: Entry;
      try {
        entry = JSON.parse(line) as Entry;
      } catch {
        throw new Error(`${path} line ${lineNo} is not a journal entry: pass another --journal, or delete this file to start over`);
      }
      store.#apply(entry);
    }
    return store;
  }

  #apply(entry: Entry): void {
    if (entry.t === 'job') this.#jobs.set(entry.job.id, entry.job);
    else if (entry.t === 'cache') this.#cache.set(entry.key, entry.result);
    else {
      let items = this.#items.get(entry.item.jobId);
      if (!items) this.#items.set(entry.item.jobId, (items = []));
      items[entry.item.index] = entry.item;
    }
  }

  #write(entries: Entry[]): void {
    appendFileSync(this.path, entries.map((e) => JSON.stringify(e) + '\n').join(''));
    for (const e of entries) this.#apply(structuredClone(e));
  }

  /** The jobs in this journal. */
  jobs(): JobRecord[] {
    return [...this.#jobs.values()].map((j) => structuredClone(j));
  }

  async createJob(job: JobRecord, items: readonly JobItem[]): Promise<void> {
    // Rows first, job last: a journal without its job line is an unfinished create and is started over.
    this.#write(items.map((item) => ({ t: 'item', item }) as Entry).concat([{ t: 'job', job }]));
  }

  async loadJob(id: string): Promise<JobRecord | undefined> {
    const job = this.#jobs.get(id);
    return job && structuredClone(job);
  }

  async saveJob(job: JobRecord): Promise<void> {
    this.#write([{ t: 'job', job }]);
  }

  async loadItems(jobId: string): Promise<JobItem[]> {
    return (this.#items.get(jobId) ?? []).map((i) => structuredClone(i));
  }

  async saveItem(item: JobItem): Promise<void> {
    this.#write([{ t: 'item', item }]);
  }

  async cacheGet(key: string): Promise<ChatResult | undefined> {
    const hit = this.#cache.get(key);
    return hit && structuredClone(hit);
  }

  async cachePut(key: string, result: ChatResult): Promise<void> {
    this.#write([{ t: 'cache', key, result }]);
  }
}
