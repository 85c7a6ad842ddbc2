// Reads a whole project out of the studio's two databases into a bundle, and merges a bundle into them. The API key
// never leaves: its setting is skipped on export, refused on import, and the finished file is searched for the
// key's bytes before it is handed out. Teacher jobs and their request cache stay on the device that ran them.
import type { IDBPDatabase } from 'idb';
import type { EvalDB } from '../eval/store';
import { API_KEY } from '../teacher/settings';
import { BundleError, containsBytes, decodeBundle, emptyStores, encodeBundle, type BundleRecord, type BundleStore, type BundleStores } from './bundle';
import { rangeOf, type StudioDB } from './db';
import { commit } from './store';

const studioStores = ['datasets', 'records', 'runs', 'checkpoints', 'runData'] as const;
const evalStores = ['evalSets', 'answerSets', 'judgeRuns', 'rougeRuns', 'hhhSessions', 'hhhRatings', 'hhhProgress'] as const;

/** How many records of each store a bundle holds (or an import wrote). */
export type BundleSummary = Record<BundleStore, number>;

export interface ProjectDatabases {
  studio: IDBPDatabase<StudioDB>;
  eval: IDBPDatabase<EvalDB>;
}

export async function exportBundle({ studio, eval: evals }: ProjectDatabases, now = Date.now()): Promise<Uint8Array> {
  const stores = emptyStores();
  const tx = studio.transaction([...studioStores, 'settings'], 'readonly');
  for (const name of studioStores) stores[name] = (await tx.objectStore(name).getAll()) as unknown as BundleRecord[];
  const settings = tx.objectStore('settings');
  const keys = (await settings.getAllKeys()).filter((k) => k !== API_KEY);
  for (const key of keys) stores.settings.push({ key, value: await settings.get(key) });
  const apiKey = (await settings.get(API_KEY)) as string | undefined;
  await tx.done;
  const etx = evals.transaction([...evalStores], 'readonly');
  for (const name of evalStores) stores[name] = (await etx.objectStore(name).getAll()) as unknown as BundleRecord[];
  await etx.done;
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
 * each database is written in one transaction, so a bad file changes nothing.
 */
export async function importBundle({ studio, eval: evals }: ProjectDatabases, bytes: Uint8Array): Promise<BundleSummary> {
  const { stores } = decodeBundle(bytes);
  if (stores.settings.some((s) => s.key === API_KEY)) throw new BundleError('it carries an API key setting, which a bundle never does');

  const tx = studio.transaction([...studioStores, 'settings'], 'readwrite');
  await commit(tx, function* () {
    for (const d of stores.datasets) yield tx.objectStore('records').delete(rangeOf(d.id as string));
    for (const r of stores.runs) {
      yield tx.objectStore('checkpoints').delete(rangeOf(r.id as string));
      yield tx.objectStore('runData').delete(r.id as string);
    }
    for (const name of studioStores) for (const record of stores[name]) yield tx.objectStore(name).put(record as never);
    for (const { key, value } of stores.settings) yield tx.objectStore('settings').put(value, key as string);
  });

  const etx = evals.transaction([...evalStores], 'readwrite');
  await commit(etx, function* () {
    for (const s of stores.hhhSessions) {
      const range = IDBKeyRange.bound([s.id], [s.id, []]);
      yield etx.objectStore('hhhRatings').delete(range);
      yield etx.objectStore('hhhProgress').delete(range);
    }
    for (const name of evalStores) for (const record of stores[name]) yield etx.objectStore(name).put(record as never);
  });
  return summarize(stores);
}
