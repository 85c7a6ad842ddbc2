// DatasetStore: datasets and their rows in StudioDB. Writes that belong together share one transaction:
// an import stores all its rows and the dataset, or nothing.
import type { IDBPDatabase } from 'idb';
import { openStudioDB, rangeOf, type StudioDB } from './db';
import { dedupeByRougeLAsync, type DedupeOptions } from './dedupe';
import { parseDataset, type RowProblem } from './formats';
import { derivedName, NameError, nameProblem } from './names';
import { splitIndices } from './split';
import type { DatasetMeta, DatasetOrigin, DatasetRecord, DedupeRemoval, FormatId, Row } from './types';

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
    return this.#create({ name, format, origin }, rows.map((row, seq) => ({ row, seq })), rows.length);
  }

  /** A new dataset whose rows sit at the given seqs (gaps allowed: a deduped dataset keeps its source's places). */
  async #create(
    fields: Pick<DatasetMeta, 'name' | 'format' | 'origin' | 'dedupe'>,
    rows: readonly { row: Row; seq: number }[],
    nextSeq: number,
  ): Promise<DatasetMeta> {
    const now = Date.now();
    const meta: DatasetMeta = { id: newId(), ...fields, rowCount: rows.length, nextSeq, createdAt: now, updatedAt: now };
    if (!meta.dedupe) delete meta.dedupe;
    const tx = this.db.transaction(['datasets', 'records'], 'readwrite');
    const records = tx.objectStore('records');
    await commit(tx, function* () {
      for (const { row, seq } of rows) yield records.put({ ...row, datasetId: meta.id, seq });
      yield tx.objectStore('datasets').put(meta);
    });
    return meta;
  }

  /** Parses a file's text and stores it as a new dataset; a malformed file throws ImportError and stores nothing. */
  async importText(name: string, text: string, origin: DatasetOrigin): Promise<DatasetMeta> {
    const { format, rows } = parseDataset(text);
    return this.create(name, format, origin, rows);
  }

  /**
   * Imports the rows of a file that are good and leaves the bad ones out (the user chose to, after the full
   * import listed them). A file that is wrong as a whole, or has no good row, still throws and stores nothing.
   */
  async importGoodRows(name: string, text: string, origin: DatasetOrigin): Promise<{ dataset: DatasetMeta; skipped: number; problems: RowProblem[] }> {
    const { format, rows, skipped } = parseDataset(text, { skipBadRows: true });
    const dataset = await this.create(name, format, origin, rows);
    return { dataset, skipped: skipped?.bad ?? 0, problems: skipped?.problems ?? [] };
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

  /** Renames a dataset; an empty name, or one another dataset has, throws NameError and changes nothing. */
  async rename(id: string, name: string): Promise<DatasetMeta> {
    const tx = this.db.transaction('datasets', 'readwrite');
    const all = await tx.store.getAll();
    const meta = all.find((d) => d.id === id);
    if (!meta) throw new DatasetNotFoundError(id);
    const problem = nameProblem(name, all.filter((d) => d.id !== id).map((d) => d.name), 'dataset');
    if (problem) throw new NameError(problem);
    const renamed = { ...meta, name: name.trim(), updatedAt: Date.now() };
    await tx.store.put(renamed);
    await tx.done;
    return renamed;
  }

  async remove(id: string): Promise<void> {
    const tx = this.db.transaction(['datasets', 'records'], 'readwrite');
    await commit(tx, function* () {
      yield tx.objectStore('records').delete(rangeOf(id));
      yield tx.objectStore('datasets').delete(id);
    });
  }

  /**
   * Writes the rows that survive ROUGE-L dedupe of the instructions to a new dataset, each at its place in the
   * source, and keeps the rows left out (with the kept row each nearly repeats and their score) in its meta, so
   * the page lists them and can put them back.
   */
  async dedupe(id: string, options: DedupeOptions & { signal?: AbortSignal } = {}): Promise<{ dataset: DatasetMeta; removed: number }> {
    const meta = await this.get(id);
    const rows = (await this.rows(id)).map(stripKeys);
    const { keep, duplicateOf, score } = await dedupeByRougeLAsync(rows.map((r) => r.instruction), options);
    const kept: { row: Row; seq: number }[] = [];
    const removed: DedupeRemoval[] = [];
    rows.forEach((row, i) => {
      if (keep[i]) kept.push({ row, seq: i });
      else removed.push({ seq: i, keptSeq: duplicateOf[i], score: score[i], row });
    });
    const name = derivedName(meta.name, 'deduped', (await this.list()).map((d) => d.name));
    const origin: DatasetOrigin = { kind: 'derived', from: id, how: 'dedupe' };
    const dataset = await this.#create({ name, format: meta.format, origin, dedupe: { threshold: options.threshold ?? 0.7, removed } }, kept, rows.length);
    return { dataset, removed: removed.length };
  }

  /** Puts rows that dedupe left out back into the deduped dataset, at their places; they leave its list. */
  async putBack(id: string, seqs: readonly number[]): Promise<DatasetMeta> {
    const tx = this.db.transaction(['datasets', 'records'], 'readwrite');
    const meta = await tx.objectStore('datasets').get(id);
    if (!meta) throw new DatasetNotFoundError(id);
    if (!meta.dedupe) throw new Error(`“${meta.name}” was not made by dedupe: there is nothing to put back`);
    const wanted = new Set(seqs);
    const back = meta.dedupe.removed.filter((r) => wanted.has(r.seq));
    const records = tx.objectStore('records');
    const updated: DatasetMeta = {
      ...meta,
      rowCount: meta.rowCount + back.length,
      updatedAt: Date.now(),
      dedupe: { ...meta.dedupe, removed: meta.dedupe.removed.filter((r) => !wanted.has(r.seq)) },
    };
    await commit(tx, function* () {
      for (const r of back) yield records.put({ ...r.row, datasetId: id, seq: r.seq });
      yield tx.objectStore('datasets').put(updated);
    });
    return updated;
  }

  /**
   * Undoes a dedupe: deletes the deduped dataset, whose source is untouched, and returns the source. Refused
   * when the source was deleted since (then putting the rows back is the way to undo).
   */
  async undoDedupe(id: string): Promise<DatasetMeta> {
    const meta = await this.get(id);
    if (meta.origin.kind !== 'derived' || meta.origin.how !== 'dedupe') throw new Error(`“${meta.name}” was not made by dedupe: there is nothing to undo`);
    const source = await this.db.get('datasets', meta.origin.from);
    if (!source) throw new Error(`the dataset “${meta.name}” was deduped from has been deleted, so undoing would lose its rows: put the removed rows back instead`);
    await this.remove(id);
    return source;
  }

  /** Splits a dataset into new train and validation datasets (seeded, file order kept). */
  async split(id: string, validationFraction: number, seed = 42): Promise<{ train: DatasetMeta; validation: DatasetMeta }> {
    const meta = await this.get(id);
    const rows = (await this.rows(id)).map(stripKeys);
    const { train, validation } = splitIndices(rows.length, validationFraction, seed);
    const taken = (await this.list()).map((d) => d.name);
    const trainName = derivedName(meta.name, 'train', taken);
    const validationName = derivedName(meta.name, 'validation', [...taken, trainName]);
    return {
      train: await this.create(trainName, meta.format, { kind: 'derived', from: id, how: 'train' }, train.map((i) => rows[i])),
      validation: await this.create(validationName, meta.format, { kind: 'derived', from: id, how: 'validation' }, validation.map((i) => rows[i])),
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
