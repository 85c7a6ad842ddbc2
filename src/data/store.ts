// DatasetStore: datasets and their rows in StudioDB. Writes that belong together share one transaction:
// an import stores all its rows and the dataset, or nothing.
import type { IDBPDatabase } from 'idb';
import { openStudioDB, rangeOf, type StudioDB } from './db';
import { dedupeByRougeLAsync, type DedupeOptions } from './dedupe';
import { parseDataset } from './formats';
import { splitIndices } from './split';
import type { DatasetMeta, DatasetOrigin, DatasetRecord, FormatId, Row } from './types';

export class DatasetNotFoundError extends Error {
  override name = 'DatasetNotFoundError';
  constructor(id: string) {
    super(`dataset ${id} does not exist (deleted in another tab?): reload the Datasets page`);
  }
}

export function newId(): string {
  return crypto.randomUUID();
}

export class DatasetStore {
  constructor(readonly db: IDBPDatabase<StudioDB>) {}

  static async open(name?: string): Promise<DatasetStore> {
    return new DatasetStore(await openStudioDB(name));
  }

  /** Every dataset, newest first. */
  async list(): Promise<DatasetMeta[]> {
    return (await this.db.getAllFromIndex('datasets', 'byCreated')).reverse();
  }

  async get(id: string): Promise<DatasetMeta> {
    const meta = await this.db.get('datasets', id);
    if (!meta) throw new DatasetNotFoundError(id);
    return meta;
  }

  /** Stores a new dataset with its rows in one transaction. */
  async create(name: string, format: FormatId, origin: DatasetOrigin, rows: readonly Row[]): Promise<DatasetMeta> {
    const now = Date.now();
    const meta: DatasetMeta = { id: newId(), name, format, origin, rowCount: rows.length, nextSeq: rows.length, createdAt: now, updatedAt: now };
    const tx = this.db.transaction(['datasets', 'records'], 'readwrite');
    const records = tx.objectStore('records');
    await commit(tx, function* () {
      for (let i = 0; i < rows.length; i++) yield records.put({ ...rows[i], datasetId: meta.id, seq: i });
      yield tx.objectStore('datasets').put(meta);
    });
    return meta;
  }

  /** Parses a file's text and stores it as a new dataset; a malformed file throws ImportError and stores nothing. */
  async importText(name: string, text: string, origin: DatasetOrigin): Promise<DatasetMeta> {
    const { format, rows } = parseDataset(text);
    return this.create(name, format, origin, rows);
  }

  /** Rows of a dataset in file order. */
  async rows(id: string): Promise<DatasetRecord[]> {
    return this.db.getAll('records', rangeOf(id));
  }

  async append(id: string, rows: readonly Row[]): Promise<DatasetMeta> {
    const tx = this.db.transaction(['datasets', 'records'], 'readwrite');
    const meta = await tx.objectStore('datasets').get(id);
    if (!meta) throw new DatasetNotFoundError(id);
    const records = tx.objectStore('records');
    meta.rowCount += rows.length;
    meta.updatedAt = Date.now();
    await commit(tx, function* () {
      for (const row of rows) yield records.put({ ...row, datasetId: id, seq: meta.nextSeq++ });
      yield tx.objectStore('datasets').put(meta);
    });
    return meta;
  }

  /** Replaces one stored row (same dataset and seq). */
  async updateRow(record: DatasetRecord): Promise<void> {
    const tx = this.db.transaction(['datasets', 'records'], 'readwrite');
    const meta = await tx.objectStore('datasets').get(record.datasetId);
    if (!meta) throw new DatasetNotFoundError(record.datasetId);
    if (!(await tx.objectStore('records').getKey([record.datasetId, record.seq]))) {
      throw new Error(`row ${record.seq} is no longer in "${meta.name}" (deleted?): reload the dataset`);
    }
    meta.updatedAt = Date.now();
    await commit(tx, function* () {
      yield tx.objectStore('records').put(record);
      yield tx.objectStore('datasets').put(meta);
    });
  }

  async deleteRows(id: string, seqs: readonly number[]): Promise<DatasetMeta> {
    const tx = this.db.transaction(['datasets', 'records'], 'readwrite');
    const meta = await tx.objectStore('datasets').get(id);
    if (!meta) throw new DatasetNotFoundError(id);
    const records = tx.objectStore('records');
    const present = new Set<number>();
    for (const seq of seqs) if (await records.getKey([id, seq])) present.add(seq);
    meta.rowCount -= present.size;
    meta.updatedAt = Date.now();
    await commit(tx, function* () {
      for (const seq of present) yield records.delete([id, seq]);
      yield tx.objectStore('datasets').put(meta);
    });
    return meta;
  }

  async rename(id: string, name: string): Promise<void> {
    const tx = this.db.transaction('datasets', 'readwrite');
    const meta = await tx.store.get(id);
    if (!meta) throw new DatasetNotFoundError(id);
    await tx.store.put({ ...meta, name, updatedAt: Date.now() });
    await tx.done;
  }

  async remove(id: string): Promise<void> {
    const tx = this.db.transaction(['datasets', 'records'], 'readwrite');
    await commit(tx, function* () {
      yield tx.objectStore('records').delete(rangeOf(id));
      yield tx.objectStore('datasets').delete(id);
    });
  }

  /** Writes the rows that survive ROUGE-L dedupe of the instructions to a new dataset. */
  async dedupe(id: string, options: DedupeOptions & { signal?: AbortSignal } = {}): Promise<{ dataset: DatasetMeta; removed: number }> {
    const meta = await this.get(id);
    const rows = await this.rows(id);
    const { keep } = await dedupeByRougeLAsync(rows.map((r) => r.instruction), options);
    const kept = rows.filter((_, i) => keep[i]).map(stripKeys);
    const dataset = await this.create(`${meta.name} (deduped)`, meta.format, { kind: 'derived', from: id, how: 'dedupe' }, kept);
    return { dataset, removed: rows.length - kept.length };
  }

  /** Splits a dataset into new train and validation datasets (seeded, file order kept). */
  async split(id: string, validationFraction: number, seed = 42): Promise<{ train: DatasetMeta; validation: DatasetMeta }> {
    const meta = await this.get(id);
    const rows = (await this.rows(id)).map(stripKeys);
    const { train, validation } = splitIndices(rows.length, validationFraction, seed);
    return {
      train: await this.create(`${meta.name} (train)`, meta.format, { kind: 'derived', from: id, how: 'train' }, train.map((i) => rows[i])),
      validation: await this.create(`${meta.name} (validation)`, meta.format, { kind: 'derived', from: id, how: 'validation' }, validation.map((i) => rows[i])),
    };
  }
}

/**
 * Issues a transaction's writes and waits for it to commit. A write that throws synchronously (a value
 * IndexedDB cannot store) aborts the transaction, so the writes before it do not commit either.
 */
export async function commit(tx: { abort(): void; done: Promise<void> }, writes: () => Iterable<Promise<unknown>>): Promise<void> {
  const pending: Promise<unknown>[] = [];
  try {
    for (const w of writes()) pending.push(w);
  } catch (e) {
    tx.abort();
    await Promise.allSettled([...pending, tx.done]);
    throw e;
  }
  await Promise.all([...pending, tx.done]);
}

/** A stored record as a plain row, ready to go into another dataset. */
export function stripKeys(record: DatasetRecord): Row {
  const { datasetId: _d, seq: _s, ...row } = record;
  return row;
}
