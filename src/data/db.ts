// StudioDB: the one IndexedDB schema of the studio. Every store, key and index is typed here; the schema
// grows only by appending a migration, so a browser holding version N upgrades through N+1..latest in order.
// Value types come from modules that import no database code, so nothing here closes an import cycle.
import { deleteDB, openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type { HhhRating, HhhSession } from '../eval/hhh';
import type { AnswerSetRecord, EvalSetRecord, JudgeRunRecord, RougeRunRecord, ScoreFileRecord } from '../eval/store-records';
import type { CacheEntry, JobItem, JobRecord } from '../teacher/types';
import type { CheckpointRecord, RunDataRecord, RunRecord } from './run-records';
import type { DatasetMeta, DatasetRecord } from './types';

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
  evalSets: { key: string; value: EvalSetRecord };
  answerSets: { key: string; value: AnswerSetRecord };
  judgeRuns: { key: string; value: JudgeRunRecord };
  rougeRuns: { key: string; value: RougeRunRecord };
  hhhSessions: { key: string; value: HhhSession };
  /** Keyed by [sessionId, rater, itemId]. */
  hhhRatings: { key: [string, string, string]; value: HhhRating };
  /** Where each rater is in each session: keyed by [sessionId, rater]. */
  hhhProgress: { key: [string, string]; value: { sessionId: string; rater: string; index: number } };
  /** Score files (the paper's gpt4_llm_cmp_data_scores.json or one like it), kept as distributions. */
  scoreFiles: { key: string; value: ScoreFileRecord };
}

export const DEFAULT_DB_NAME = 'instruct-studio';

/** The stores that held evaluations in a database of their own until migration 4 moved them here. */
const EVAL_STORES = ['evalSets', 'answerSets', 'judgeRuns', 'rougeRuns', 'hhhSessions', 'hhhRatings', 'hhhProgress', 'scoreFiles'] as const;
type EvalStoreName = (typeof EVAL_STORES)[number];
/** Records read from that older database before the upgrade, written by the migration that creates their stores. */
type Carried = Partial<Record<EvalStoreName, unknown[]>>;

/** The version whose migration moves the evaluations in. */
const EVALS_MOVED_IN = 4;

/** Where a studio database named `name` kept its evaluations before version 4 ("instruct-studio-eval"). */
export function legacyEvalDBName(name: string): string {
  return `${name}-eval`;
}

type UpgradeTx = IDBPTransaction<StudioDB, StoreNames<StudioDB>[], 'versionchange'>;
type Migration = (db: IDBPDatabase<StudioDB>, tx: UpgradeTx, carried: Carried) => void;

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
  // 4: evaluations: eval sets, answer sets, judge and ROUGE runs, human rating sessions, score files. They lived in
  // a database of their own; its records, read before this upgrade, are written in the same transaction.
  (db, tx, carried) => {
    for (const name of ['evalSets', 'answerSets', 'judgeRuns', 'rougeRuns', 'hhhSessions', 'scoreFiles'] as const) db.createObjectStore(name, { keyPath: 'id' });
    db.createObjectStore('hhhRatings', { keyPath: ['sessionId', 'rater', 'itemId'] });
    db.createObjectStore('hhhProgress', { keyPath: ['sessionId', 'rater'] });
    for (const name of EVAL_STORES) for (const record of carried[name] ?? []) void tx.objectStore(name).put(record as never);
  },
];

export const DB_VERSION = migrations.length;

/**
 * Opens (and upgrades) the studio database. `version` below the latest exists for migration tests. An older
 * studio's separate evaluation database is read first when this upgrade creates the evaluation stores, copied in
 * by that migration, and deleted once the studio database holds its records.
 */
export async function openStudioDB(name = DEFAULT_DB_NAME, version = DB_VERSION): Promise<IDBPDatabase<StudioDB>> {
  const legacyName = legacyEvalDBName(name);
  const databases = await indexedDB.databases();
  const current = databases.find((d) => d.name === name)?.version ?? 0;
  const hasLegacy = databases.some((d) => d.name === legacyName);
  const carried = hasLegacy && current < EVALS_MOVED_IN && version >= EVALS_MOVED_IN ? await readEvalDB(legacyName) : {};
  const db = await openDB<StudioDB>(name, version, {
    upgrade(db, oldVersion, newVersion, tx) {
      for (let v = oldVersion; v < (newVersion ?? version); v++) migrations[v](db, tx, carried);
    },
    blocking(_current, _blocked, event) {
      // A newer tab wants to upgrade: let it, this connection reopens on the next reload.
      (event.target as IDBDatabase).close();
    },
  });
  // Also when a page closed between the upgrade and this delete: its records were copied by the upgrade.
  if (hasLegacy && db.version >= EVALS_MOVED_IN) await deleteDB(legacyName);
  return db;
}

/** Every record of the older evaluation database, store by store (version 1 had no score files). */
async function readEvalDB(name: string): Promise<Carried> {
  const db = await openDB(name);
  try {
    const stores = EVAL_STORES.filter((s) => db.objectStoreNames.contains(s));
    if (stores.length === 0) return {};
    const tx = db.transaction(stores, 'readonly');
    return Object.fromEntries(await Promise.all(stores.map(async (s) => [s, await tx.objectStore(s).getAll()])));
  } finally {
    db.close();
  }
}

let shared: Promise<IDBPDatabase<StudioDB>> | null = null;

/** The page's one connection to the studio database, opened on first use. */
export function sharedStudioDB(): Promise<IDBPDatabase<StudioDB>> {
  shared ??= openStudioDB().catch((e: unknown) => {
    shared = null;
    throw new Error(`IndexedDB is unavailable (${e instanceof Error ? e.message : String(e)}): nothing can be stored; is this a private window?`);
  });
  return shared;
}

/** The key range holding every row of one dataset (or job). */
export function rangeOf(id: string): IDBKeyRange {
  return IDBKeyRange.bound([id, -Infinity], [id, Infinity]);
}
