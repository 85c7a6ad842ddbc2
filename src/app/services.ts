// The studio's services, built once per page load by App.svelte and handed to the state classes by context: the
// stores over the one StudioDB, a teacher client made from the saved settings, and the engine client. State classes
// take them in their constructor instead of opening the database or reading the settings themselves, so a test
// hands them a database of its own.
import type { IDBPDatabase } from 'idb';
import { getContext, setContext } from 'svelte';
import { sharedStudioDB, type StudioDB } from '../data/db';
import { RunStore } from '../data/runs';
import { SettingsStore } from '../data/settings';
import { DatasetStore } from '../data/store';
import type { EngineClient } from '../engine/client';
import { EvalStore } from '../eval/store';
import { normalizeBaseURL, OPENAI_BASE_URL, TeacherClient } from '../teacher/client';
import { IdbJobStore } from '../teacher/idb-store';
import { API_KEY, DEFAULT_SETTINGS, SETTINGS_KEY, type TeacherSettings } from '../teacher/settings';

/** Every store of the studio, over one connection. */
export interface Stores {
  db: IDBPDatabase<StudioDB>;
  datasets: DatasetStore;
  runs: RunStore;
  evals: EvalStore;
  /** Teacher jobs, their rows and the request cache. */
  jobs: IdbJobStore;
  settings: SettingsStore;
}

export class Services {
  #stores: Promise<Stores> | null = null;

  constructor(
    readonly engine: EngineClient,
    private readonly openDatabase: () => Promise<IDBPDatabase<StudioDB>> = sharedStudioDB,
  ) {}

  /** The stores, over the studio database opened on first use (and tried again after a failed open). */
  stores(): Promise<Stores> {
    this.#stores ??= this.openDatabase().then(
      (db) => ({
        db, datasets: new DatasetStore(db), runs: new RunStore(db), evals: new EvalStore(db), jobs: new IdbJobStore(db), settings: new SettingsStore(db),
      }),
      (e: unknown) => {
        this.#stores = null;
        throw e;
      },
    );
    return this.#stores;
  }

  /** The Teacher page's saved settings with defaults filled in, and whether a key is stored (the key stays there). */
  async teacherSettings(): Promise<{ settings: TeacherSettings; hasKey: boolean }> {
    const { settings } = await this.stores();
    const saved = await settings.get<Partial<TeacherSettings>>(SETTINGS_KEY);
    return { settings: { ...structuredClone(DEFAULT_SETTINGS), ...saved }, hasKey: !!(await settings.get<string>(API_KEY)) };
  }

  /**
   * A teacher client for the saved endpoint and key, or for the endpoint and key given (a judge run keeps the
   * endpoint it started with; a key may be typed for one page load only).
   */
  async teacher(connection: { baseURL?: string; apiKey?: string } = {}): Promise<TeacherClient> {
    const { settings } = await this.stores();
    const apiKey = connection.apiKey ?? (await settings.get<string>(API_KEY));
    if (!apiKey) throw new Error('No API key: enter one in Teacher settings (it is stored in this browser only).');
    const baseURL = connection.baseURL ?? (await settings.get<Partial<TeacherSettings>>(SETTINGS_KEY))?.baseURL ?? '';
    return new TeacherClient({ baseURL: normalizeBaseURL(baseURL) || OPENAI_BASE_URL, apiKey });
  }
}

const key = Symbol('services');

export function setServices(services: Services): Services {
  return setContext(key, services);
}

export function useServices(): Services {
  const services = getContext<Services | undefined>(key);
  if (!services) throw new Error('the studio\'s services are not set: App.svelte sets them before any page is shown');
  return services;
}
