// Teacher page state: settings (the key stays in this browser's IndexedDB, shown masked, removable), the
// connection test, and generation jobs: create from a dataset, run, pause, resume, cancel, retry failed rows.
// Jobs that were running when the page went away resume when it comes back.
import { sharedStudioDB } from '../../data/db';
import { SettingsStore } from '../../data/settings';
import { DatasetStore } from '../../data/store';
import { normalizeBaseURL, OPENAI_BASE_URL, TeacherClient } from '../../teacher/client';
import { redact } from '../../teacher/errors';
import { IdbJobStore } from '../../teacher/idb-store';
import { jobRows } from '../../teacher/output';
import { JobRunner, newJob, requeue, type Progress } from '../../teacher/runner';
import { type JobItem, type JobLang, type JobMode, type JobRecord } from '../../teacher/types';
import { API_KEY, DEFAULT_SETTINGS, SETTINGS_KEY, type TeacherSettings } from '../../teacher/settings';
import { useDatasetsState } from './datasets.svelte';
import { messageOf } from '../lib/message';

/** A job as the page shows it. */
export interface JobView {
  job: JobRecord;
  progress: Progress | null;
  running: boolean;
}

export class TeacherState {
  settings = $state<TeacherSettings>(structuredClone(DEFAULT_SETTINGS));
  /** Whether a key is stored; the key itself never enters page state. */
  hasKey = $state(false);
  jobs = $state.raw<JobView[]>([]);
  /** Failed rows of each job, loaded when asked for. */
  failures = $state.raw<Record<string, JobItem[]>>({});
  connection = $state<{ ok: boolean; message: string } | null>(null);
  testing = $state(false);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  #runners = new Map<string, JobRunner>();
  #key: string | null = null;
  #ready: Promise<void> | null = null;
  #progressAt = new Map<string, number>();

  async #stores() {
    const db = await sharedStudioDB();
    return { jobs: new IdbJobStore(db), settings: new SettingsStore(db), datasets: new DatasetStore(db) };
  }

  /** Loads settings and jobs once, and resumes jobs a reload interrupted. */
  init(): Promise<void> {
    this.#ready ??= this.#init().catch((e: unknown) => {
      this.error = messageOf(e);
    });
    return this.#ready;
  }

  async #init(): Promise<void> {
    const { jobs, settings } = await this.#stores();
    const saved = await settings.get<Partial<TeacherSettings>>(SETTINGS_KEY);
    if (saved) this.settings = { ...structuredClone(DEFAULT_SETTINGS), ...saved };
    this.#key = (await settings.get<string>(API_KEY)) ?? null;
    this.hasKey = this.#key !== null;
    this.jobs = (await jobs.listJobs()).map((job) => ({ job, progress: null, running: false }));
    for (const view of this.jobs) {
      if (view.job.status === 'running' && this.#key) void this.resume(view.job.id);
    }
  }

  async saveSettings(): Promise<void> {
    const { settings } = await this.#stores();
    this.settings.baseURL = normalizeBaseURL(this.settings.baseURL) || OPENAI_BASE_URL;
    await settings.set(SETTINGS_KEY, $state.snapshot(this.settings));
    this.notice = 'Settings saved in this browser.';
  }

  async setKey(key: string): Promise<void> {
    const trimmed = key.trim();
    if (!trimmed) return;
    const { settings } = await this.#stores();
    await settings.set(API_KEY, trimmed);
    this.#key = trimmed;
    this.hasKey = true;
    this.connection = null;
  }

  async removeKey(): Promise<void> {
    const { settings } = await this.#stores();
    await settings.delete(API_KEY);
    this.#key = null;
    this.hasKey = false;
    this.connection = null;
  }

  #client(): TeacherClient {
    if (!this.#key) throw new Error('No API key: enter one in Teacher settings (it is stored in this browser only).');
    return new TeacherClient({ baseURL: this.settings.baseURL, apiKey: this.#key });
  }

  #redact(text: string): string {
    return redact(text, this.#key ? [this.#key] : []);
  }

  async testConnection(): Promise<void> {
    this.testing = true;
    this.connection = null;
    try {
      const models = await this.#client().listModels(AbortSignal.timeout(20_000));
      const want = [this.settings.teacherModel, this.settings.translatorModel];
      const missing = want.filter((m) => !models.includes(m));
      this.connection = {
        ok: true,
        message: `Connected: ${models.length} models${missing.length ? `; not listed: ${missing.join(', ')}` : `; ${want.join(' and ')} available`}.`,
      };
    } catch (e) {
      this.connection = { ok: false, message: this.#redact(messageOf(e)) };
    } finally {
      this.testing = false;
    }
  }

  /** Creates a job over every row of a dataset (instruction and input) and starts it. */
  async createJob(datasetId: string, lang: JobLang, mode: JobMode): Promise<void> {
    this.error = null;
    try {
      const { jobs, datasets } = await this.#stores();
      const meta = await datasets.get(datasetId);
      const rows = await datasets.rows(datasetId);
      if (!rows.length) throw new Error(`“${meta.name}” has no rows.`);
      const s = $state.snapshot(this.settings);
      const params = { temperature: s.temperature, top_p: s.top_p, max_tokens: s.max_tokens };
      const { job, items } = newJob({
        name: `${meta.name} → ${s.teacherModel}${lang === 'zh' ? ' (Chinese)' : ''}`,
        baseURL: s.baseURL, lang, mode,
        teacher: { model: s.teacherModel, params },
        translator: lang === 'zh' ? { model: s.translatorModel, params } : undefined,
        concurrency: s.concurrency, maxAttempts: s.maxAttempts, budgetUSD: s.budgetUSD, prices: s.prices,
        source: { datasetId, name: meta.name },
      }, rows.map((r) => ({ instruction: r.instruction, input: r.input })));
      await jobs.createJob(job, items);
      this.jobs = [{ job, progress: null, running: false }, ...this.jobs];
      await this.resume(job.id);
    } catch (e) {
      this.error = this.#redact(messageOf(e));
    }
  }

  #update(id: string, patch: Partial<JobView>): void {
    this.jobs = this.jobs.map((v) => (v.job.id === id ? { ...v, ...patch } : v));
  }

  async resume(id: string): Promise<void> {
    if (this.#runners.has(id)) return;
    this.error = null;
    let client: TeacherClient;
    try {
      client = this.#client();
    } catch (e) {
      this.error = messageOf(e);
      return;
    }
    const { jobs } = await this.#stores();
    const view = this.jobs.find((v) => v.job.id === id);
    // Settings changed since the job started (concurrency, budget, prices) apply when it resumes.
    if (view && view.job.status !== 'running') {
      const s = $state.snapshot(this.settings);
      const job = { ...view.job, spec: { ...view.job.spec, concurrency: s.concurrency, budgetUSD: s.budgetUSD, prices: s.prices } };
      await jobs.saveJob(job);
    }
    const runner = new JobRunner(id, {
      store: jobs, chat: client, batch: client,
      onProgress: (progress) => {
        // At most a few repaints a second, however fast rows finish.
        const now = performance.now();
        if (progress.status === 'running' && now - (this.#progressAt.get(id) ?? 0) < 200) return;
        this.#progressAt.set(id, now);
        this.#update(id, { progress, job: { ...this.jobs.find((v) => v.job.id === id)!.job, status: progress.status } });
      },
    });
    this.#runners.set(id, runner);
    this.#update(id, { running: true });
    try {
      const job = await this.#withLock(id, () => runner.run());
      if (job) {
        if (job.error) job.error = this.#redact(job.error);
        this.#update(id, { job, progress: runner.progress(), running: false });
        if (job.status === 'done') await this.#writeOutput(job);
      } else {
        this.#update(id, { running: false });
        this.notice = 'This job is running in another tab.';
      }
    } catch (e) {
      this.error = this.#redact(messageOf(e));
      this.#update(id, { running: false });
    } finally {
      this.#runners.delete(id);
      if (this.failures[id]) await this.loadFailures(id);
    }
  }

  /** Runs fn under a per-job Web Lock, so two tabs never run the same job; null if another tab holds it. */
  async #withLock<T>(id: string, fn: () => Promise<T>): Promise<T | null> {
    if (!('locks' in navigator)) return fn();
    return navigator.locks.request(`instruct-studio-job-${id}`, { ifAvailable: true }, (lock) => (lock ? fn() : null));
  }

  pause(id: string): void {
    this.#runners.get(id)?.pause();
  }

  cancel(id: string): void {
    this.#runners.get(id)?.cancel();
  }

  async retryFailed(id: string, indices?: number[]): Promise<void> {
    const { jobs } = await this.#stores();
    const n = await requeue(jobs, id, indices ?? 'errors');
    const job = await jobs.loadJob(id);
    if (job) this.#update(id, { job });
    this.notice = `${n} row${n === 1 ? '' : 's'} queued again.`;
    await this.resume(id);
  }

  async loadFailures(id: string): Promise<void> {
    const { jobs } = await this.#stores();
    const failed = (await jobs.loadItems(id)).filter((i) => i.status === 'error' || (i.status === 'pending' && i.error));
    this.failures = { ...this.failures, [id]: failed.slice(0, 200).map((i) => ({ ...i, error: i.error && this.#redact(i.error) })) };
  }

  async deleteJob(id: string): Promise<void> {
    this.#runners.get(id)?.cancel();
    const { jobs } = await this.#stores();
    await jobs.deleteJob(id);
    this.jobs = this.jobs.filter((v) => v.job.id !== id);
  }

  /** Writes (or rewrites) the job's answers as a dataset recording model and parameters. */
  async #writeOutput(job: JobRecord): Promise<void> {
    const { jobs, datasets } = await this.#stores();
    const rows = jobRows(job.spec, await jobs.loadItems(job.id));
    if (job.outputDatasetId) await datasets.remove(job.outputDatasetId);
    const meta = await datasets.create(job.spec.name, 'alpaca', { kind: 'job', jobId: job.id }, rows);
    const updated = { ...job, outputDatasetId: meta.id };
    await jobs.saveJob(updated);
    this.#update(job.id, { job: updated });
    await useDatasetsState().refresh();
    this.notice = `Saved ${rows.length.toLocaleString('en')} answers as the dataset “${meta.name}”.`;
  }
}

// Created when this module loads, outside any component, so its state outlives the page that shows it.
const teacherState = new TeacherState();

/** The page's teacher state: one per page load, so jobs keep running while other pages are open. */
export function useTeacherState(): TeacherState {
  return teacherState;
}
