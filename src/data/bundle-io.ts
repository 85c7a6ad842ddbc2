// Reads a whole project out of the studio database into a bundle, and merges a bundle into it. The API key
// never leaves: its setting is skipped on export, refused on import, and the finished file is searched for the
// key's bytes before it is handed out. Teacher jobs and their request cache stay on the device that ran them.
import type { IDBPDatabase } from 'idb';
import { API_KEY } from '../teacher/settings';
import { KERNEL_SETTING_PREFIX } from './settings';
import { BundleError, containsBytes, decodeBundle, emptyStores, encodeBundle, type BundleRecord, type BundleStore, type BundleStores } from './bundle';
import { rangeOf, type StudioDB } from './db';
import { commit } from './store';

/** The stores a bundle carries record for record (settings go as {key, value} entries). */
const recordStores = [
  'datasets', 'records', 'runs', 'checkpoints', 'runData',
  'evalSets', 'answerSets', 'judgeRuns', 'rougeRuns', 'hhhSessions', 'hhhRatings', 'hhhProgress',
] as const;

/** How many records of each store a bundle holds (or an import wrote). */
export type BundleSummary = Record<BundleStore, number>;

export async function exportBundle(db: IDBPDatabase<StudioDB>, now = Date.now()): Promise<Uint8Array> {
  const stores = emptyStores();
  const tx = db.transaction([...recordStores, 'settings'], 'readonly');
  for (const name of recordStores) stores[name] = (await tx.objectStore(name).getAll()) as unknown as BundleRecord[];
  const settings = tx.objectStore('settings');
  // Never the key; nor this device's kernel checks and choices, which describe its GPU.
  const keys = (await settings.getAllKeys()).filter((k) => k !== API_KEY && !String(k).startsWith(KERNEL_SETTING_PREFIX));
  for (const key of keys) stores.settings.push({ key, value: await settings.get(key) });
  const apiKey = (await settings.get(API_KEY)) as string | undefined;
  await tx.done;
  const bytes = encodeBundle({ createdAt: now, stores });
  if (apiKey && containsBytes(bytes, new TextEncoder().encode(apiKey))) {
    throw new Error('The API key appears in the project\'s data (pasted into a dataset row or a name?): remove it there, then export again. Nothing was exported.');
  }
  return bytes;
}

export function summarize(stores: BundleStores): BundleSummary {
  return Object.fromEntries(Object.entries(stores).map(([name, records]) => [name, records.length])) as BundleSummary;
}

/**
 * Merges a bundle: each dataset, run and session in it replaces the one with the same id (its rows, checkpoints
 * and ratings with it); everything else already here stays. The file is decoded and checked in full first, and
 * written in one transaction, so a bad file changes nothing.
 */
export async function importBundle(db: IDBPDatabase<StudioDB>, bytes: Uint8Array): Promise<BundleSummary> {
  const { stores } = decodeBundle(bytes);
  if (stores.settings.some((s) => s.key === API_KEY)) throw new BundleError('it carries an API key setting, which a bundle never does');

  const tx = db.transaction([...recordStores, 'settings'], 'readwrite');
  await commit(tx, function* () {
    for (const d of stores.datasets) yield tx.objectStore('records').delete(rangeOf(d.id as string));
    for (const r of stores.runs) {
      yield tx.objectStore('checkpoints').delete(rangeOf(r.id as string));
      yield tx.objectStore('runData').delete(r.id as string);
    }
    for (const s of stores.hhhSessions) {
      const range = IDBKeyRange.bound([s.id], [s.id, []]);
      yield tx.objectStore('hhhRatings').delete(range);
      yield tx.objectStore('hhhProgress').delete(range);
    }
    for (const name of recordStores) for (const record of stores[name]) yield tx.objectStore(name).put(record as never);
    for (const { key, value } of stores.settings) yield tx.objectStore('settings').put(value, key as string);
  });
  return summarize(stores);
}
