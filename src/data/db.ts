// StudioDB: the one IndexedDB schema of the studio. Every store, key and index is typed here; the schema
// grows only by appending a migration, so a browser holding version N upgrades through N+1..latest in order.
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type { DatasetMeta, DatasetRecord } from './types';
import type { CacheEntry, JobItem, JobRecord } from '../teacher/types';
import type { CheckpointRecord, RunDataRecord, RunRecord } from './runs';

export interface StudioDB extends DBSchema {
  datasets: { key: string; value: DatasetMeta; indexes: { byCreated: number } };
  /** Rows keyed by [datasetId, seq], so one dataset is a key range in file order. */
  records: { key: [string, number]; value: DatasetRecord };
  /** Small key/value settings (teacher endpoint, price table, the API key, kept on this device only). */
  settings: { key: string; value: unknown };
  jobs: { key: string; value: JobRecord; indexes: { byCreated: number } };
  /** Job rows keyed by [jobId, index]. */
  jobItems: { key: [string, number]; value: JobItem; indexes: { byJobStatus: [string, string] } };
  requestCache: { key: string; value: CacheEntry };
  /** Training runs: settings, data reference, status and their curves. */
  runs: { key: string; value: RunRecord; indexes: { byCreated: number } };
  /** A run's latest checkpoint (adapter + optimizer state), keyed by [runId, step]. */
  checkpoints: { key: [string, number]; value: CheckpointRecord };
  /** Pre-tokenized rows a run was started from, kept so it can resume on the same data. */
  runData: { key: string; value: RunDataRecord };
}

export const DEFAULT_DB_NAME = 'instruct-studio';

type UpgradeTx = IDBPTransaction<StudioDB, StoreNames<StudioDB>[], 'versionchange'>;
type Migration = (db: IDBPDatabase<StudioDB>, tx: UpgradeTx) => void;

/** migrations[i] upgrades version i to version i + 1. Append only; never edit a shipped one. */
const migrations: Migration[] = [
  // 1: datasets and their rows, settings.
  (db) => {
    db.createObjectStore('datasets', { keyPath: 'id' }).createIndex('byCreated', 'createdAt');
    db.createObjectStore('records', { keyPath: ['datasetId', 'seq'] });
    db.createObjectStore('settings');
  },
  // 2: teacher jobs, their rows, and the request cache that keeps reruns from paying twice.
  (db) => {
    db.createObjectStore('jobs', { keyPath: 'id' }).createIndex('byCreated', 'createdAt');
    db.createObjectStore('jobItems', { keyPath: ['jobId', 'index'] }).createIndex('byJobStatus', ['jobId', 'status']);
    db.createObjectStore('requestCache', { keyPath: 'key' });
  },
  // 3: training runs, their checkpoints, and the pre-tokenized data of runs started from a file.
  (db) => {
    db.createObjectStore('runs', { keyPath: 'id' }).createIndex('byCreated', 'createdAt');
    db.createObjectStore('checkpoints', { keyPath: ['runId', 'step'] });
    db.createObjectStore('runData', { keyPath: 'runId' });
  },
];

export const DB_VERSION = migrations.length;

/** Opens (and upgrades) the studio database. `version` below the latest exists for migration tests. */
export function openStudioDB(name = DEFAULT_DB_NAME, version = DB_VERSION): Promise<IDBPDatabase<StudioDB>> {
  return openDB<StudioDB>(name, version, {
    upgrade(db, oldVersion, newVersion, tx) {
      for (let v = oldVersion; v < (newVersion ?? version); v++) migrations[v](db, tx);
    },
    blocking(_current, _blocked, event) {
      // A newer tab wants to upgrade: let it, this connection reopens on the next reload.
      (event.target as IDBDatabase).close();
    },
  });
}

let shared: Promise<IDBPDatabase<StudioDB>> | null = null;

/** The page's one connection to the studio database, opened on first use. */
export function sharedStudioDB(): Promise<IDBPDatabase<StudioDB>> {
  shared ??= openStudioDB().catch((e: unknown) => {
    shared = null;
    throw new Error(`IndexedDB is unavailable (${e instanceof Error ? e.message : String(e)}): datasets and jobs cannot be stored; is this a private window?`);
  });
  return shared;
}

/** The key range holding every row of one dataset (or job). */
export function rangeOf(id: string): IDBKeyRange {
  return IDBKeyRange.bound([id, -Infinity], [id, Infinity]);
}
